# Turns the files given in FILES (a ;-list) into a C source OUT that defines
#   const struct pare_embedded pare_embedded_files[]; const size_t pare_embedded_count;
# Run with cmake -P at build time so that the binary carries its migrations and templates.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "#include <stddef.h>\n#include \"common/embedded.h\"\n")
set(table "")
set(i 0)
foreach(f IN LISTS FILES)
    file(READ "${f}" hex HEX)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
    get_filename_component(name "${f}" NAME)
    string(APPEND body "static const unsigned char f${i}[] = {${hex}0x00};\n")
    string(APPEND table "    {\"${name}\", (const char *)f${i}, sizeof f${i} - 1},\n")
    math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "const struct pare_embedded pare_embedded_files[] = {\n${table}};\n")
string(APPEND body "const size_t pare_embedded_count = ${i};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)

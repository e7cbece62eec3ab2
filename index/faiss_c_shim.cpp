// faiss_c_shim.cpp - the part of FAISS's C API that pare uses, for systems whose FAISS has the
// C API headers but no libfaiss_c (Debian's libfaiss-dev). Same prototypes as the installed
// faiss/c_api headers, so the C code links unchanged against an upstream libfaiss_c. Every C++
// exception becomes a non-zero return code; its text is kept per thread for
// faiss_get_last_error().
#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/impl/FaissException.h>

#include <exception>
#include <string>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexScalarQuantizer_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

namespace {
thread_local std::string last_error;

faiss::Index *cxx(FaissIndex *p) { return reinterpret_cast<faiss::Index *>(p); }
const faiss::Index *cxx(const FaissIndex *p) { return reinterpret_cast<const faiss::Index *>(p); }

template <class F> int guard(F &&f)
{
    try {
        f();
        last_error.clear();
        return 0;
    } catch (const faiss::FaissException &e) {
        last_error = e.what();
        return -2; // the codes of the upstream C API: FaissException
    } catch (const std::exception &e) {
        last_error = e.what();
        return -4; // std::exception
    } catch (...) {
        last_error = "unknown C++ exception";
        return -1;
    }
}
} // namespace

extern "C" {

const char *faiss_get_last_error() { return last_error.empty() ? nullptr : last_error.c_str(); }

int faiss_index_factory(FaissIndex **p_index, int d, const char *description,
                        FaissMetricType metric)
{
    return guard([&] {
        *p_index = reinterpret_cast<FaissIndex *>(
            faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
    });
}

void faiss_Index_free(FaissIndex *obj) { delete cxx(obj); }
int faiss_Index_d(const FaissIndex *obj) { return cxx(obj)->d; }
int faiss_Index_is_trained(const FaissIndex *obj) { return cxx(obj)->is_trained; }
idx_t faiss_Index_ntotal(const FaissIndex *obj) { return cxx(obj)->ntotal; }
FaissMetricType faiss_Index_metric_type(const FaissIndex *obj)
{
    return static_cast<FaissMetricType>(cxx(obj)->metric_type);
}

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x)
{
    return guard([&] { cxx(index)->train(n, x); });
}

int faiss_Index_add(FaissIndex *index, idx_t n, const float *x)
{
    return guard([&] { cxx(index)->add(n, x); });
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                       float *distances, idx_t *labels)
{
    return guard([&] { cxx(index)->search(n, x, k, distances, labels); });
}

int faiss_Index_reconstruct(const FaissIndex *index, idx_t key, float *recons)
{
    return guard([&] { cxx(index)->reconstruct(key, recons); });
}

int faiss_Index_reconstruct_n(const FaissIndex *index, idx_t i0, idx_t ni, float *recons)
{
    return guard([&] { cxx(index)->reconstruct_n(i0, ni, recons); });
}

FaissIndexScalarQuantizer *faiss_IndexScalarQuantizer_cast(FaissIndex *index)
{
    return reinterpret_cast<FaissIndexScalarQuantizer *>(
        dynamic_cast<faiss::IndexScalarQuantizer *>(cxx(index)));
}

int faiss_IndexFlatIP_new_with(FaissIndexFlatIP **p_index, idx_t d)
{
    return guard([&] {
        *p_index = reinterpret_cast<FaissIndexFlatIP *>(new faiss::IndexFlatIP(d));
    });
}

int faiss_write_index_fname(const FaissIndex *idx, const char *fname)
{
    return guard([&] { faiss::write_index(cxx(idx), fname); });
}

int faiss_read_index_fname(const char *fname, int io_flags, FaissIndex **p_out)
{
    return guard([&] {
        *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(fname, io_flags));
    });
}

int faiss_ParameterSpace_new(FaissParameterSpace **space)
{
    return guard([&] {
        *space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace());
    });
}

void faiss_ParameterSpace_free(FaissParameterSpace *obj)
{
    delete reinterpret_cast<faiss::ParameterSpace *>(obj);
}

int faiss_ParameterSpace_set_index_parameters(const FaissParameterSpace *space,
                                              FaissIndex *index, const char *params)
{
    return guard([&] {
        reinterpret_cast<const faiss::ParameterSpace *>(space)->set_index_parameters(
            cxx(index), params);
    });
}

} // extern "C"

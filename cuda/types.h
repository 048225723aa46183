// Element types shared by the kernels and library wrappers.  Headers of cuda/
// stay plain C++, so a bfloat16 element is carried as its 16 raw bits (Bf16);
// only the .cu files see __nv_bfloat16.
#pragma once

#include <cstddef>
#include <cstdint>

namespace banyan::cuda {

// The bits of one IEEE bfloat16 value (the upper half of a float).
using Bf16 = uint16_t;

enum class DataType { kFloat32, kBFloat16 };

// Memory layout of a 4-d activation: cuDNN's NCHW or NHWC.
enum class Layout { kNchw, kNhwc };

inline size_t data_type_size(DataType t) { return t == DataType::kFloat32 ? 4 : 2; }
inline const char* data_type_name(DataType t) {
  return t == DataType::kFloat32 ? "float32" : "bfloat16";
}

}  // namespace banyan::cuda

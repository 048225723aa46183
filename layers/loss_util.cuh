// Device helpers shared by the loss layers' .cu files (included by .cu only).
#pragma once

#include <cstdint>

namespace banyan {

// The class id label value v stands for, or -1 when v is not an integer in
// [0, classes) (mirrors is_class_id in layers/layer.h).
__device__ __forceinline__ int64_t class_of(float v, int64_t classes) {
  return v >= 0.0f && v < static_cast<float>(classes) && v == floorf(v) ? static_cast<int64_t>(v)
                                                                        : -1;
}

}  // namespace banyan

// uint8 batch -> float/bf16 with mean and scale: one thread per output
// element.  (x - m) * s is a subtract then a multiply, each rounded as on the
// CPU, so float outputs equal data/transform.cc's.
#include "cuda/check.h"
#include "cuda/input_convert.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"

namespace banyan::cuda {
namespace {

template <typename T>
__global__ void convert_input_kernel(InputConvertArgs a, const uint8_t* in,  // in (N, C, H, W)
                                     T* out) {                               // out (N, C, H, W)
  const int64_t total = static_cast<int64_t>(a.N) * a.C * a.H * a.W;
  for (int64_t i = grid_start(); i < total; i += grid_stride()) {
    const int w = static_cast<int>(i % a.W);
    const int h = static_cast<int>((i / a.W) % a.H);
    const int c = static_cast<int>((i / (static_cast<int64_t>(a.W) * a.H)) % a.C);
    const int n = static_cast<int>(i / (static_cast<int64_t>(a.W) * a.H * a.C));
    float m = 0.0f;
    if (a.mean_image != nullptr) {
      const bool mirrored = a.mirror != nullptr && a.mirror[n] != 0;
      const int w_src = mirrored ? a.W - 1 - w : w;
      const int y = (a.h_off != nullptr ? a.h_off[n] : 0) + h;
      const int x = (a.w_off != nullptr ? a.w_off[n] : 0) + w_src;
      m = a.mean_image[(static_cast<int64_t>(c) * a.mean_height + y) * a.mean_width + x];
    } else if (a.mean_channel != nullptr) {
      m = a.mean_channel[c];
    }
    const float v = __fmul_rn(__fsub_rn(static_cast<float>(in[i]), m), a.scale);
    store_from_float(out, i, v);
  }
}

void check_args(const InputConvertArgs& a, const uint8_t* in, const void* out,
                cudaStream_t stream) {
  CHECK(a.N > 0 && a.C > 0 && a.H > 0 && a.W > 0)
      << "convert_input: bad shape " << a.N << "x" << a.C << "x" << a.H << "x" << a.W;
  CHECK(in != nullptr && out != nullptr) << "convert_input: null input or output";
  CHECK(a.mean_image == nullptr || a.mean_channel == nullptr)
      << "convert_input: give a mean image or per-channel means, not both";
  if (a.mean_image != nullptr) {
    CHECK(a.mean_height >= a.H && a.mean_width >= a.W)
        << "convert_input: mean image " << a.mean_height << "x" << a.mean_width
        << " smaller than the crop " << a.H << "x" << a.W;
  }
  check_stream(stream, "convert_input");
}

}  // namespace

void convert_input(const InputConvertArgs& args, const uint8_t* in, float* out,
                   cudaStream_t stream) {
  check_args(args, in, out, stream);
  const int64_t total = static_cast<int64_t>(args.N) * args.C * args.H * args.W;
  convert_input_kernel<float><<<grid_for(total), kBlockSize, 0, stream>>>(args, in, out);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void convert_input(const InputConvertArgs& args, const uint8_t* in, Bf16* out,
                   cudaStream_t stream) {
  check_args(args, in, out, stream);
  const int64_t total = static_cast<int64_t>(args.N) * args.C * args.H * args.W;
  convert_input_kernel<Bf16><<<grid_for(total), kBlockSize, 0, stream>>>(args, in, out);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan::cuda

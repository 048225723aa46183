// DnnlMaxPooling: plain NCHW descriptors (the jit kernels transpose
// internally), argument maps built once, pointers swapped per call.
#include "layers/pooling_dnnl.h"

#include "engine/core/cpu_threads.h"

namespace banyan {

using dnnl::memory;

Status DnnlMaxPooling::create(const PoolGeometry& g, int threads) {
  threads_ = threads;
  use_cpu_threads(threads);
  try {
    engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream_ = dnnl::stream(engine_);
    const memory::desc src({g.num, g.channels, g.height, g.width}, memory::data_type::f32,
                           memory::format_tag::nchw);
    const memory::desc dst({g.num, g.channels, g.pooled_h, g.pooled_w}, memory::data_type::f32,
                           memory::format_tag::nchw);
    const memory::dims strides{g.stride_h, g.stride_w}, kernel{g.kernel_h, g.kernel_w},
        dilation{0, 0}, pad_l{g.pad_h, g.pad_w},
        pad_r{(g.pooled_h - 1) * g.stride_h + g.kernel_h - g.height - g.pad_h,
              (g.pooled_w - 1) * g.stride_w + g.kernel_w - g.width - g.pad_w};
    const auto fwd_pd = dnnl::pooling_v2_forward::primitive_desc(
        dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training,
                                       dnnl::algorithm::pooling_max, src, dst, strides, kernel,
                                       dilation, pad_l, pad_r),
        engine_);
    const auto bwd_pd = dnnl::pooling_v2_backward::primitive_desc(
        dnnl::pooling_v2_backward::desc(dnnl::algorithm::pooling_max, src, dst, strides, kernel,
                                        dilation, pad_l, pad_r),
        engine_, fwd_pd);
    impl_ = std::string("oneDNN ") + fwd_pd.impl_info_str() + " / " + bwd_pd.impl_info_str();
    fwd_ = dnnl::pooling_v2_forward(fwd_pd);
    bwd_ = dnnl::pooling_v2_backward(bwd_pd);
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(Device::cpu(), fwd_pd.workspace_desc().get_size(), &indices_));
    src_ = memory(src, engine_, DNNL_MEMORY_NONE);
    dst_ = memory(dst, engine_, DNNL_MEMORY_NONE);
    diff_src_ = memory(src, engine_, DNNL_MEMORY_NONE);
    diff_dst_ = memory(dst, engine_, DNNL_MEMORY_NONE);
    workspace_ = memory(fwd_pd.workspace_desc(), engine_, indices_.data());
    fwd_args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_WORKSPACE, workspace_}};
    bwd_args_ = {{DNNL_ARG_DIFF_DST, diff_dst_},
                 {DNNL_ARG_DIFF_SRC, diff_src_},
                 {DNNL_ARG_WORKSPACE, workspace_}};
  } catch (const dnnl::error& e) {
    return Status::unimplemented(std::string("oneDNN has no max pooling for this shape: ") +
                                 e.what());
  }
  return Status::success();
}

void DnnlMaxPooling::forward(const float* x, float* y) {
  use_cpu_threads(threads_);
  src_.set_data_handle(const_cast<float*>(x));
  dst_.set_data_handle(y);
  fwd_.execute(stream_, fwd_args_);
  stream_.wait();
}

void DnnlMaxPooling::backward(const float* dy, float* dx) {
  use_cpu_threads(threads_);
  diff_dst_.set_data_handle(const_cast<float*>(dy));
  diff_src_.set_data_handle(dx);
  bwd_.execute(stream_, bwd_args_);
  stream_.wait();
}

}  // namespace banyan

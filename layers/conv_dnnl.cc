// DnnlConvolution: primitive descriptors with format "any" so oneDNN picks
// its blocked layouts, reorders at the edges, every buffer placed in the
// caller's workspace (user scratchpad mode: oneDNN allocates nothing while
// running), and argument maps built once so a call only swaps pointers.
#include "layers/conv_dnnl.h"

#include <glog/logging.h>

#include "engine/core/cpu_threads.h"

namespace banyan {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

// Hands out 64-byte aligned byte offsets into the workspace.
struct DnnlConvolution::Carver {
  size_t bytes = 0;
  size_t take(size_t n) {
    const size_t at = bytes;
    bytes += (n + 63) / 64 * 64;
    return at;
  }
};

namespace {

memory::desc any_like(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, tag::any);
}

template <typename T>
void set_handle(memory& m, T* p) {
  m.set_data_handle(const_cast<void*>(static_cast<const void*>(p)));
}

}  // namespace

Status DnnlConvolution::stage(const memory::desc& user, const memory::desc& inner, bool input,
                              bool accumulate, Carver* carver, Staged* out) {
  out->user = memory(user, engine_, DNNL_MEMORY_NONE);
  out->same = user == inner && !accumulate;
  if (out->same) {
    out->inner = out->user;
    return Status::success();
  }
  out->inner = memory(inner, engine_, DNNL_MEMORY_NONE);
  out->offset = carver->take(inner.get_size());
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const memory& from = input ? out->user : out->inner;
  const memory& to = input ? out->inner : out->user;
  out->reorder = dnnl::reorder(dnnl::reorder::primitive_desc(from, to, attr));
  out->reorder_args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  return Status::success();
}

Status DnnlConvolution::create(const ConvGeometry& g, int num, int out_channels, int group,
                               bool bias, int threads) {
  threads_ = threads;
  bias_ = bias;
  out_channels_ = out_channels;
  use_cpu_threads(threads);  // jit kernels block their work for this many threads
  try {
    engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream_ = dnnl::stream(engine_);
    const memory::dims src{num, g.channels, g.height, g.width};
    const memory::dims dst{num, out_channels, g.out_h, g.out_w};
    const memory::dims wei =
        group == 1
            ? memory::dims{out_channels, g.channels, g.kernel_h, g.kernel_w}
            : memory::dims{group, out_channels / group, g.channels / group, g.kernel_h, g.kernel_w};
    const memory::dims bias_dims{out_channels};
    const memory::dims strides{g.stride_h, g.stride_w};
    const memory::dims dilates{g.dilation_h - 1, g.dilation_w - 1};
    const memory::dims pad_l{g.pad_h, g.pad_w};
    // oneDNN's right padding: whatever makes its output size Caffe's.
    const memory::dims pad_r{
        (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - g.height - g.pad_h,
        (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - g.width - g.pad_w};
    const memory::desc src_user(src, memory::data_type::f32, tag::nchw);
    const memory::desc dst_user(dst, memory::data_type::f32, tag::nchw);
    const memory::desc wei_user(wei, memory::data_type::f32, group == 1 ? tag::oihw : tag::goihw);
    const memory::desc bias_user(bias_dims, memory::data_type::f32, tag::x);
    const memory::desc no_bias;

    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto fwd_pd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                        dnnl::algorithm::convolution_direct, any_like(src),
                                        any_like(wei), bias ? bias_user : no_bias, any_like(dst),
                                        strides, dilates, pad_l, pad_r),
        attr, engine_);
    const auto bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, any_like(src),
                                              any_like(wei), any_like(dst), strides, dilates, pad_l,
                                              pad_r),
        attr, engine_, fwd_pd);
    const auto bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any_like(src),
                                                 any_like(wei), bias ? bias_user : no_bias,
                                                 any_like(dst), strides, dilates, pad_l, pad_r),
        attr, engine_, fwd_pd);
    impl_fwd_ = fwd_pd.impl_info_str();
    impl_bwd_data_ = bwd_data_pd.impl_info_str();
    impl_bwd_weights_ = bwd_weights_pd.impl_info_str();
    fwd_ = dnnl::convolution_forward(fwd_pd);
    bwd_data_ = dnnl::convolution_backward_data(bwd_data_pd);
    bwd_weights_ = dnnl::convolution_backward_weights(bwd_weights_pd);

    Carver f;
    BANYAN_RETURN_IF_ERROR(stage(src_user, fwd_pd.src_desc(), true, false, &f, &f_src_));
    BANYAN_RETURN_IF_ERROR(stage(wei_user, fwd_pd.weights_desc(), true, false, &f, &f_wei_));
    BANYAN_RETURN_IF_ERROR(stage(dst_user, fwd_pd.dst_desc(), false, false, &f, &f_dst_));
    scratch_fwd_offset_ = f.take(fwd_pd.scratchpad_desc().get_size());
    scratch_fwd_ = memory(fwd_pd.scratchpad_desc(), engine_, DNNL_MEMORY_NONE);
    fwd_args_ = {{DNNL_ARG_SRC, f_src_.inner},
                 {DNNL_ARG_WEIGHTS, f_wei_.inner},
                 {DNNL_ARG_DST, f_dst_.inner},
                 {DNNL_ARG_SCRATCHPAD, scratch_fwd_}};
    if (bias) {
      bias_mem_ = memory(bias_user, engine_, DNNL_MEMORY_NONE);
      fwd_args_[DNNL_ARG_BIAS] = bias_mem_;
    }

    Carver b;
    BANYAN_RETURN_IF_ERROR(stage(src_user, bwd_weights_pd.src_desc(), true, false, &b, &w_src_));
    BANYAN_RETURN_IF_ERROR(
        stage(dst_user, bwd_weights_pd.diff_dst_desc(), true, false, &b, &w_ddst_));
    BANYAN_RETURN_IF_ERROR(
        stage(wei_user, bwd_weights_pd.diff_weights_desc(), false, true, &b, &w_dwei_));
    scratch_bwd_weights_offset_ = b.take(bwd_weights_pd.scratchpad_desc().get_size());
    scratch_bwd_weights_ = memory(bwd_weights_pd.scratchpad_desc(), engine_, DNNL_MEMORY_NONE);
    bwd_weights_args_ = {{DNNL_ARG_SRC, w_src_.inner},
                         {DNNL_ARG_DIFF_DST, w_ddst_.inner},
                         {DNNL_ARG_DIFF_WEIGHTS, w_dwei_.inner},
                         {DNNL_ARG_SCRATCHPAD, scratch_bwd_weights_}};
    if (bias) {
      diff_bias_offset_ = b.take(bias_user.get_size());
      diff_bias_mem_ = memory(bias_user, engine_, DNNL_MEMORY_NONE);
      bwd_weights_args_[DNNL_ARG_DIFF_BIAS] = diff_bias_mem_;
    }
    BANYAN_RETURN_IF_ERROR(stage(wei_user, bwd_data_pd.weights_desc(), true, false, &b, &d_wei_));
    BANYAN_RETURN_IF_ERROR(stage(dst_user, bwd_data_pd.diff_dst_desc(), true, false, &b, &d_ddst_));
    BANYAN_RETURN_IF_ERROR(
        stage(src_user, bwd_data_pd.diff_src_desc(), false, false, &b, &d_dsrc_));
    scratch_bwd_data_offset_ = b.take(bwd_data_pd.scratchpad_desc().get_size());
    scratch_bwd_data_ = memory(bwd_data_pd.scratchpad_desc(), engine_, DNNL_MEMORY_NONE);
    bwd_data_args_ = {{DNNL_ARG_WEIGHTS, d_wei_.inner},
                      {DNNL_ARG_DIFF_DST, d_ddst_.inner},
                      {DNNL_ARG_DIFF_SRC, d_dsrc_.inner},
                      {DNNL_ARG_SCRATCHPAD, scratch_bwd_data_}};
    workspace_floats_ = (std::max(f.bytes, b.bytes) + sizeof(float) - 1) / sizeof(float);
  } catch (const dnnl::error& e) {
    return Status::unimplemented(std::string("oneDNN has no convolution for this shape: ") +
                                 e.what());
  }
  return Status::success();
}

std::string DnnlConvolution::describe() const {
  return "oneDNN " + impl_fwd_ + " / " + impl_bwd_data_ + " / " + impl_bwd_weights_;
}

void DnnlConvolution::stage_in(Staged& s, const void* user, char* ws) {
  set_handle(s.user, user);
  if (s.same) return;
  set_handle(s.inner, ws + s.offset);
  s.reorder.execute(stream_, s.reorder_args);
}

void DnnlConvolution::stage_out(Staged& s, void* user, char* ws) {
  set_handle(s.user, user);
  if (!s.same) set_handle(s.inner, ws + s.offset);
}

void DnnlConvolution::forward(const float* x, const float* w, const float* b, float* y,
                              float* workspace) {
  use_cpu_threads(threads_);
  char* ws = reinterpret_cast<char*>(workspace);
  stage_in(f_src_, x, ws);
  stage_in(f_wei_, w, ws);
  stage_out(f_dst_, y, ws);
  if (bias_) set_handle(bias_mem_, b);
  set_handle(scratch_fwd_, ws + scratch_fwd_offset_);
  fwd_.execute(stream_, fwd_args_);
  if (!f_dst_.same) f_dst_.reorder.execute(stream_, f_dst_.reorder_args);
  stream_.wait();
}

void DnnlConvolution::backward(const float* x, const float* w, const float* dy, float* dw,
                               float* db, float* dx, float* workspace) {
  use_cpu_threads(threads_);
  char* ws = reinterpret_cast<char*>(workspace);
  stage_in(w_src_, x, ws);
  stage_in(w_ddst_, dy, ws);
  stage_out(w_dwei_, dw, ws);
  set_handle(scratch_bwd_weights_, ws + scratch_bwd_weights_offset_);
  float* diff_bias = reinterpret_cast<float*>(ws + diff_bias_offset_);
  if (bias_) set_handle(diff_bias_mem_, diff_bias);
  bwd_weights_.execute(stream_, bwd_weights_args_);
  w_dwei_.reorder.execute(stream_, w_dwei_.reorder_args);  // dw += (accumulating reorder)
  if (bias_) {
    for (int k = 0; k < out_channels_; ++k) db[k] += diff_bias[k];
  }
  if (dx != nullptr) {
    stage_in(d_wei_, w, ws);
    stage_in(d_ddst_, dy, ws);
    stage_out(d_dsrc_, dx, ws);
    set_handle(scratch_bwd_data_, ws + scratch_bwd_data_offset_);
    bwd_data_.execute(stream_, bwd_data_args_);
    if (!d_dsrc_.same) d_dsrc_.reorder.execute(stream_, d_dsrc_.reorder_args);
  }
  stream_.wait();
}

}  // namespace banyan

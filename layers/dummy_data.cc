// DummyData layer: setup (shapes, filler plans) and the CPU fill through
// fill_param, the fillers parameters use.
#include "layers/dummy_data.h"

#include <glog/logging.h>

#include <string>

#include "layers/filler.h"
#include "layers/registry.h"

namespace banyan {

Status DummyDataLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 1, -1));
  const DummyDataConfig& c = config_.dummy_data;
  const size_t n = top.size();
  if (c.shapes.size() != 1 && c.shapes.size() != n) {
    return error("dummy_data_param has " + std::to_string(c.shapes.size()) + " shapes for " +
                 std::to_string(n) + " tops; expected 1 or one per top");
  }
  if (c.fillers.size() > 1 && c.fillers.size() != n) {
    return error("dummy_data_param has " + std::to_string(c.fillers.size()) + " fillers for " +
                 std::to_string(n) + " tops; expected 0, 1 or one per top");
  }
  fillers_.assign(n, c.fillers.empty() ? FillerConfig() : c.fillers[0]);
  plans_.assign(n, ElementFiller());
  filled_.assign(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const Shape& shape = c.shapes.size() == 1 ? c.shapes[0] : c.shapes[i];
    for (int64_t d : shape.dims()) {
      if (d <= 0)
        return error("top " + std::to_string(i) + " shape " + shape.to_string() +
                     ": dimensions must be > 0");
    }
    if (c.fillers.size() == n) fillers_[i] = c.fillers[i];
    Status s = plan_element_filler(fillers_[i], shape, &plans_[i]);
    if (!s.ok()) return error("top " + std::to_string(i) + ": " + s.message());
    top[i]->set_shape(shape);
  }
  return Status::success();
}

uint64_t DummyDataLayer::fill_key(int i, const WorkerContext& ctx) const {
  const uint64_t top_key = key_for(ctx.seed(), name() + "/" + std::to_string(i));
  const uint64_t phase_key = mix_key(top_key, ctx.step().phase == Phase::kTest ? 1 : 0);
  return mix_key(phase_key, static_cast<uint64_t>(ctx.step().sample_base));
}

bool DummyDataLayer::needs_fill(int i, const float* data) {
  if (fillers_[i].type != "constant") return true;
  if (bf16_shadow_bytes() > 0) return true;
  if (filled_[i] == data) return false;
  filled_[i] = data;
  return true;
}

void DummyDataLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/,
                                 const std::vector<Blob*>& top, WorkerContext& ctx) {
  for (size_t i = 0; i < top.size(); ++i) {
    if (!needs_fill(static_cast<int>(i), top[i]->data())) continue;
    Status s = fill_param(fillers_[i], fill_key(static_cast<int>(i), ctx), top[i]);
    CHECK(s.ok()) << "layer '" << name() << "': " << s.message();  // planned at setup
  }
}

std::unique_ptr<Layer> new_dummy_data_layer(const LayerConfig& config) {
  return std::make_unique<DummyDataLayer>(config);
}

}  // namespace banyan

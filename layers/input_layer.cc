// Input layer: shape checks only.
#include "layers/input_layer.h"

#include <memory>

#include "layers/registry.h"

namespace banyan {

Status InputLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 1, -1));
  const std::vector<Shape>& shapes = config_.input.shapes;
  if (shapes.size() != 1 && shapes.size() != top.size()) {
    return error("input_param has " + std::to_string(shapes.size()) + " shape(s) for " +
                 std::to_string(top.size()) + " top(s); expected 1 or " +
                 std::to_string(top.size()));
  }
  for (size_t i = 0; i < top.size(); ++i) {
    const Shape& shape = shapes.size() == 1 ? shapes[0] : shapes[i];
    if (shape.num_axes() == 0) return error("input shape " + std::to_string(i) + " is empty");
    for (int64_t d : shape.dims()) {
      if (d <= 0) {
        return error("input shape " + shape.to_string() + " for top '" + top[i]->name() +
                     "' has a dimension <= 0");
      }
    }
    top[i]->set_shape(shape);
  }
  return Status::success();
}

std::unique_ptr<Layer> new_input_layer(const LayerConfig& config) {
  return std::make_unique<InputLayer>(config);
}

}  // namespace banyan

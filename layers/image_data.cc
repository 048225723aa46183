// ImageData layer: its options turned into an image-list pipeline.
#include "layers/image_data.h"

#include <glog/logging.h>

#include <string>

#include "layers/registry.h"

namespace banyan {

Status ImageDataLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 2, 2));
  const ImageDataConfig& c = config_.image_data;
  if (c.source.empty()) return error("image_data_param.source is empty; expected a list file");
  if (c.batch_size <= 0) {
    return error("image_data_param.batch_size must be positive, got " +
                 std::to_string(c.batch_size));
  }
  if (c.rand_skip < 0) {
    return error("image_data_param.rand_skip must be >= 0, got " + std::to_string(c.rand_skip));
  }
  if (config_.transform.force_color || config_.transform.force_gray) {
    LOG(WARNING) << where() << ": transform_param.force_color/force_gray are ignored; "
                 << "image_data_param.is_color chooses colour or gray";
  }
  PipelineOptions o;
  o.source = c.source;
  o.image_list = true;
  o.image_root = c.root_folder;
  o.is_color = c.is_color;
  o.new_height = c.new_height;
  o.new_width = c.new_width;
  o.transform = config_.transform;
  o.batch_size = c.batch_size;
  o.rand_skip = c.rand_skip;
  o.shuffle = c.shuffle;
  o.prefetch = c.prefetch;
  o.decode_threads = c.decode_threads;
  o.bad_record_fatal = c.bad_record_fatal;
  return open_pipeline(o, top);
}

std::unique_ptr<Layer> new_image_data_layer(const LayerConfig& config) {
  return std::make_unique<ImageDataLayer>(config);
}

}  // namespace banyan

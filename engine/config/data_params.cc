// The parameters of the data layers other than Data: DummyData's shapes and
// fillers (one or one per top, or Caffe's legacy 4-D fields), ImageData's
// list and resize options, HDF5Data's file list.
#include <string>
#include <utility>
#include <vector>

#include "engine/config/layer_params.h"

namespace banyan::config_internal {
namespace {

namespace gpb = google::protobuf;

// The shape of top `i` from DummyData's legacy 4-D fields, each given once
// or once per top.
Status legacy_dummy_shape(const pb::DummyDataParameter& p, const Scope& s, int num_tops, int i,
                          Shape* out) {
  const std::pair<const char*, const gpb::RepeatedField<int32_t>*> fields[] = {
      {"num", &p.num()},
      {"channels", &p.channels()},
      {"height", &p.height()},
      {"width", &p.width()}};
  *out = Shape();
  for (const auto& [name, values] : fields) {
    const int n = values->size();
    if (n != 1 && n != num_tops) {
      return s.invalid(name, "has " + std::to_string(n) + " values for " +
                                 std::to_string(num_tops) + " tops; expected 1 or one per top");
    }
    const int index = n == 1 ? 0 : i;
    const int32_t d = values->Get(index);
    if (d <= 0) return s.invalid(name, "must be > 0, got " + std::to_string(d), index);
    out->push_back(d);
  }
  return Status::success();
}

Status dummy_data_shapes(const pb::DummyDataParameter& p, const Scope& s, int num_tops,
                         std::vector<Shape>* out) {
  const bool legacy =
      p.num_size() > 0 || p.channels_size() > 0 || p.height_size() > 0 || p.width_size() > 0;
  out->assign(num_tops, Shape());
  if (legacy) {
    if (p.shape_size() > 0) {
      return s.invalid("shape", "cannot be given together with num/channels/height/width");
    }
    for (int i = 0; i < num_tops; ++i) {
      BANYAN_RETURN_IF_ERROR(legacy_dummy_shape(p, s, num_tops, i, &(*out)[i]));
    }
    return Status::success();
  }
  const int n = p.shape_size();
  if (n != 1 && n != num_tops) {
    return s.invalid("shape", "has " + std::to_string(n) + " shapes for " +
                                  std::to_string(num_tops) + " tops; expected 1 or one per top");
  }
  for (int i = 0; i < num_tops; ++i) {
    const int index = n == 1 ? 0 : i;
    for (int64_t d : p.shape(index).dim()) {
      if (d <= 0) {
        return s.invalid("shape", "dimensions must be > 0, got " + std::to_string(d), index);
      }
      (*out)[i].push_back(d);
    }
  }
  return Status::success();
}

}  // namespace

Status convert_dummy_data(const pb::DummyDataParameter& p, const Scope& s, int num_tops,
                          DummyDataConfig* out) {
  if (num_tops < 1) return Status::success();  // the layer reports the missing top
  const int fillers = p.data_filler_size();
  if (fillers > 1 && fillers != num_tops) {
    return s.invalid("data_filler", "has " + std::to_string(fillers) + " fillers for " +
                                        std::to_string(num_tops) +
                                        " tops; expected 0, 1 or one per top");
  }
  BANYAN_RETURN_IF_ERROR(dummy_data_shapes(p, s, num_tops, &out->shapes));
  out->fillers.assign(num_tops, FillerConfig());  // none given: constant 0
  for (int i = 0; i < fillers; ++i) {
    BANYAN_RETURN_IF_ERROR(
        convert_filler(p.data_filler(i), s.nested("data_filler", i), &out->fillers[i]));
  }
  if (fillers == 1) out->fillers.assign(num_tops, out->fillers[0]);
  return Status::success();
}

Status convert_image_data(const pb::ImageDataParameter& p, const Scope& s, ImageDataConfig* out) {
  for (const char* legacy : {"scale", "mean_file", "crop_size", "mirror"}) {
    if (p.GetReflection()->HasField(p, p.GetDescriptor()->FindFieldByName(legacy))) {
      return s.unsupported(
          legacy, std::string("is a legacy spelling; write it as transform_param.") + legacy);
    }
  }
  if (p.source().empty()) return s.invalid("source", "is required (the image list file)");
  if (p.batch_size() <= 0) {
    return s.invalid("batch_size", "must be > 0, got " + std::to_string(p.batch_size()));
  }
  if (p.rand_skip() < 0) {
    return s.invalid("rand_skip", "must be >= 0, got " + std::to_string(p.rand_skip()));
  }
  if (p.new_height() < 0 || p.new_width() < 0 || (p.new_height() > 0) != (p.new_width() > 0)) {
    const char* field = p.new_height() < 0    ? "new_height"
                        : p.new_width() < 0   ? "new_width"
                        : p.new_height() == 0 ? "new_height"
                                              : "new_width";
    return s.invalid(field,
                     "new_height and new_width must both be 0 (keep the size) or both > 0, "
                     "got " +
                         std::to_string(p.new_height()) + " and " + std::to_string(p.new_width()));
  }
  if (p.prefetch() < 1) {
    return s.invalid("prefetch",
                     "must be >= 1 (batches read ahead), got " + std::to_string(p.prefetch()));
  }
  if (p.decode_threads() < 0) {
    return s.invalid("decode_threads",
                     "must be >= 0 (0: one per core), got " + std::to_string(p.decode_threads()));
  }
  out->source = p.source();
  out->root_folder = p.root_folder();
  out->batch_size = p.batch_size();
  out->rand_skip = p.rand_skip();
  out->shuffle = p.shuffle();
  out->new_height = p.new_height();
  out->new_width = p.new_width();
  out->is_color = p.is_color();
  out->prefetch = p.prefetch();
  out->decode_threads = p.decode_threads();
  out->bad_record_fatal = p.bad_record_fatal();
  return Status::success();
}

Status convert_hdf5_data(const pb::HDF5DataParameter& p, const Scope& s, Hdf5DataConfig* out) {
  if (p.source().empty()) return s.invalid("source", "is required (a text file listing .h5 files)");
  if (p.batch_size() <= 0) {
    return s.invalid("batch_size", "must be > 0, got " + std::to_string(p.batch_size()));
  }
  out->source = p.source();
  out->batch_size = p.batch_size();
  out->shuffle = p.shuffle();
  return Status::success();
}

}  // namespace banyan::config_internal

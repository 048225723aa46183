// Reading Caffe `.caffemodel` files through the lean schema of
// engine/config/proto/caffemodel.proto (names and blobs only, so the layer
// parameters of a Caffe model never need to parse here).
#include "engine/caffe_weights.h"

#include <fstream>
#include <sstream>

#include "caffemodel.pb.h"

namespace banyan {
namespace {

Status read_file(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open weights file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::io_error("cannot read weights file '" + path + "'");
  *bytes = ss.str();
  return Status::success();
}

Status blob_to_array(const pb::BlobProto& blob, const std::string& layer, int index,
                     const std::string& path, NamedArray* out) {
  out->name = layer + "/" + std::to_string(index);
  std::vector<int64_t> dims;
  if (blob.has_shape()) {
    for (int64_t d : blob.shape().dim()) dims.push_back(d);
  } else {
    dims = {blob.num(), blob.channels(), blob.height(), blob.width()};
  }
  out->shape = Shape(dims);
  int64_t count = 0;
  if (!checked_count(dims, &count)) {
    return Status::data_loss("Caffe model '" + path + "': blob '" + out->name +
                             "' has a negative dimension or too many elements in " +
                             out->shape.to_string());
  }
  if (blob.data_size() > 0) {
    out->data.assign(blob.data().begin(), blob.data().end());
  } else {
    out->data.assign(blob.double_data().begin(), blob.double_data().end());
  }
  if (static_cast<int64_t>(out->data.size()) != count || out->data.empty()) {
    return Status::data_loss("Caffe model '" + path + "': blob '" + out->name + "' has " +
                             std::to_string(out->data.size()) + " values but shape " +
                             out->shape.to_string());
  }
  return Status::success();
}

template <typename LayerMessage>
Status add_layer(const LayerMessage& layer, const std::string& path, std::vector<NamedArray>* out) {
  for (int i = 0; i < layer.blobs_size(); ++i) {
    NamedArray a;
    BANYAN_RETURN_IF_ERROR(blob_to_array(layer.blobs(i), layer.name(), i, path, &a));
    out->push_back(std::move(a));
  }
  return Status::success();
}

std::vector<int64_t> without_leading_ones(const Shape& s) {
  std::vector<int64_t> d = s.dims();
  size_t i = 0;
  while (i + 1 < d.size() && d[i] == 1) ++i;
  return std::vector<int64_t>(d.begin() + static_cast<std::ptrdiff_t>(i), d.end());
}

}  // namespace

Status read_caffemodel(const std::string& path, std::vector<NamedArray>* out) {
  std::string bytes;
  BANYAN_RETURN_IF_ERROR(read_file(path, &bytes));
  pb::CaffeNetWeights net;
  if (!net.ParseFromString(bytes)) {
    return Status::data_loss("'" + path +
                             "' is neither a Banyan weights file (magic BANYANW) nor a Caffe "
                             "model (binary NetParameter)");
  }
  out->clear();
  for (const pb::CaffeLayerWeights& l : net.layer())
    BANYAN_RETURN_IF_ERROR(add_layer(l, path, out));
  for (const pb::CaffeV1Layer& l : net.layers()) BANYAN_RETURN_IF_ERROR(add_layer(l, path, out));
  if (out->empty()) {
    return Status::data_loss("'" + path +
                             "' is not a Banyan weights file (magic BANYANW) and holds no Caffe "
                             "weight blobs");
  }
  return Status::success();
}

Status read_any_weights(const std::string& path, std::vector<NamedArray>* out, bool* from_caffe) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open weights file '" + path + "'");
  char magic[8] = {};
  in.read(magic, sizeof(magic));
  const bool banyan = in.gcount() == 8 && std::string(magic, 8) == std::string("BANYANW\0", 8);
  *from_caffe = !banyan;
  return banyan ? read_weights(path, out) : read_caffemodel(path, out);
}

bool weight_shape_fits(const Shape& param, const Shape& file, bool legacy) {
  if (param == file) return true;
  return legacy && without_leading_ones(param) == without_leading_ones(file);
}

}  // namespace banyan

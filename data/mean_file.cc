// Mean files <-> banyan::pb::BlobProto.
#include "data/mean_file.h"

#include <fstream>
#include <sstream>

#include "data.pb.h"
#include "engine/core/shape.h"

namespace banyan {
namespace {

// Fills C/H/W from the proto's shape (new or legacy form).
Status shape_of(const pb::BlobProto& blob, const std::string& path, MeanImage* out) {
  std::vector<int64_t> dims;
  bool legacy = blob.has_num() || blob.has_channels() || blob.has_height() || blob.has_width();
  if (blob.has_shape() && !legacy) {
    dims.assign(blob.shape().dim().begin(), blob.shape().dim().end());
  } else {
    dims = {blob.num(), blob.channels(), blob.height(), blob.width()};
  }
  if (dims.size() == 4 && dims[0] == 1) dims.erase(dims.begin());
  bool positive = dims.size() == 3 && dims[0] > 0 && dims[1] > 0 && dims[2] > 0;
  int64_t count = 0;
  if (!positive || !checked_count(dims, &count) || count > (int64_t{1} << 31)) {
    std::string shape;
    for (int64_t d : dims) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    return Status::data_loss("mean file '" + path + "': shape (" + shape +
                             ") is not (1, C, H, W) or (C, H, W) with positive sizes");
  }
  out->channels = static_cast<int>(dims[0]);
  out->height = static_cast<int>(dims[1]);
  out->width = static_cast<int>(dims[2]);
  return Status::success();
}

}  // namespace

Status read_mean_file(const std::string& path, MeanImage* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("mean file '" + path + "' not found");
  std::stringstream bytes;
  bytes << in.rdbuf();
  pb::BlobProto blob;
  if (!blob.ParseFromString(bytes.str())) {
    return Status::data_loss("mean file '" + path + "' is not a BlobProto (.binaryproto)");
  }
  MeanImage mean;
  BANYAN_RETURN_IF_ERROR(shape_of(blob, path, &mean));
  const size_t count = static_cast<size_t>(mean.channels) * mean.height * mean.width;
  if (static_cast<size_t>(blob.data_size()) == count) {
    mean.data.assign(blob.data().begin(), blob.data().end());
  } else if (static_cast<size_t>(blob.double_data_size()) == count) {
    mean.data.assign(blob.double_data().begin(), blob.double_data().end());
  } else {
    return Status::data_loss("mean file '" + path + "': shape (" + std::to_string(mean.channels) +
                             ", " + std::to_string(mean.height) + ", " +
                             std::to_string(mean.width) + ") needs " + std::to_string(count) +
                             " values, found " + std::to_string(blob.data_size()) + " floats and " +
                             std::to_string(blob.double_data_size()) + " doubles");
  }
  *out = std::move(mean);
  return Status::success();
}

Status write_mean_file(const std::string& path, const MeanImage& mean) {
  const size_t count = static_cast<size_t>(mean.channels) * mean.height * mean.width;
  if (mean.channels <= 0 || mean.height <= 0 || mean.width <= 0 || mean.data.size() != count) {
    return Status::invalid_argument(
        "mean file '" + path + "': cannot write a mean of shape (" + std::to_string(mean.channels) +
        ", " + std::to_string(mean.height) + ", " + std::to_string(mean.width) + ") with " +
        std::to_string(mean.data.size()) + " values");
  }
  pb::BlobProto blob;
  for (int64_t d : {1, mean.channels, mean.height, mean.width}) blob.mutable_shape()->add_dim(d);
  blob.set_num(1);
  blob.set_channels(mean.channels);
  blob.set_height(mean.height);
  blob.set_width(mean.width);
  blob.mutable_data()->Add(mean.data.begin(), mean.data.end());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("mean file '" + path + "': cannot open for writing");
  if (!blob.SerializeToOstream(&out) || !out.flush()) {
    return Status::io_error("mean file '" + path + "': write failed");
  }
  return Status::success();
}

}  // namespace banyan

// Writes the binary seed files of tests/fuzz/corpus/ with the project's own
// writers, so every seed is a valid input of today's format:
//   write_fuzz_seeds <corpus dir>
// Text seeds (nets, solvers, topologies, IDX, PNG) are kept as files;
// scripts/make_fuzz_seeds.sh runs this and copies those.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "caffemodel.pb.h"
#include "data/datum.h"
#include "data/jpeg.h"
#include "data/mean_file.h"
#include "engine/weights_file.h"

namespace banyan {
namespace {

std::vector<float> ramp(int64_t n, float base) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = base + 0.25f * static_cast<float>(i % 7);
  return v;
}

bool write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return static_cast<bool>(out);
}

bool check(const Status& s, const std::string& what) {
  if (!s.ok())
    std::fprintf(stderr, "write_fuzz_seeds: %s: %s\n", what.c_str(), s.message().c_str());
  return s.ok();
}

HwcImage pattern(int h, int w, int c) {
  HwcImage image;
  image.height = h;
  image.width = w;
  image.channels = c;
  image.pixels.resize(static_cast<size_t>(h) * w * c);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 37);
  return image;
}

bool datum_and_jpeg_seeds(const std::string& root) {
  bool ok = true;
  DatumRecord raw;
  raw.channels = 1;
  raw.height = 4;
  raw.width = 3;
  raw.data.assign(12, '\x7f');
  raw.label = 3;
  ok &= write_bytes(root + "/datum/raw_1x4x3", serialize_datum(raw));
  DatumRecord floats;
  floats.channels = 2;
  floats.height = 2;
  floats.width = 2;
  floats.float_data = ramp(8, -1.0f);
  floats.label = 1;
  ok &= write_bytes(root + "/datum/float_2x2x2", serialize_datum(floats));
  JpegEncoder encoder;
  for (int c : {1, 3}) {
    std::string jpeg;
    ok &= check(encoder.encode(pattern(8, 6, c), 90, &jpeg), "jpeg encode");
    DatumRecord enc;
    enc.channels = c;
    enc.height = 8;
    enc.width = 6;
    enc.data = jpeg;
    enc.encoded = true;
    enc.label = 7;
    ok &= write_bytes(root + "/datum/jpeg_c" + std::to_string(c), serialize_datum(enc));
    // The first byte picks the colour mode (jpeg_fuzz.cc).
    ok &=
        write_bytes(root + "/jpeg/c" + std::to_string(c) + "_native", std::string(1, '\0') + jpeg);
    ok &= write_bytes(root + "/jpeg/c" + std::to_string(c) + "_gray", std::string(1, '\2') + jpeg);
  }
  return ok;
}

bool weights_seeds(const std::string& root) {
  const std::vector<float> w = ramp(6, 0.5f), b = ramp(2, -0.5f);
  std::vector<ArrayRef> arrays = {{"ip/0", Shape{2, 3}, w.data()}, {"ip/1", Shape{2}, b.data()}};
  bool ok = check(write_weight_arrays(root + "/weights/ip_2x3.weights", arrays), "weights");
  SolverStateHeader header;
  header.iteration = 42;
  header.type = SolverConfig::Type::kAdam;
  header.weights_file = "net_iter_42.weights";
  ok &= check(write_solver_state(root + "/solver_state/adam.solverstate", header, {arrays, arrays}),
              "adam state");
  header.type = SolverConfig::Type::kSgd;
  ok &= check(write_solver_state(root + "/solver_state/sgd.solverstate", header, {arrays}),
              "sgd state");
  return ok;
}

bool mean_and_caffemodel_seeds(const std::string& root) {
  MeanImage mean;
  mean.channels = 3;
  mean.height = 2;
  mean.width = 2;
  mean.data = ramp(12, 100.0f);
  bool ok = check(write_mean_file(root + "/mean_file/mean_3x2x2.binaryproto", mean), "mean");

  pb::CaffeNetWeights net;
  pb::CaffeLayerWeights* ip = net.add_layer();
  ip->set_name("ip");
  ip->set_type("InnerProduct");
  pb::BlobProto* weight = ip->add_blobs();
  weight->mutable_shape()->add_dim(2);
  weight->mutable_shape()->add_dim(3);
  for (float x : ramp(6, 0.1f)) weight->add_data(x);
  pb::BlobProto* bias = ip->add_blobs();
  bias->mutable_shape()->add_dim(2);
  for (float x : ramp(2, 0.0f)) bias->add_double_data(x);
  ok &= write_bytes(root + "/caffemodel/current.caffemodel", net.SerializeAsString());

  pb::CaffeNetWeights v1;
  pb::CaffeV1Layer* conv = v1.add_layers();
  conv->set_name("conv");
  conv->set_type(4);  // V1 CONVOLUTION
  pb::BlobProto* k = conv->add_blobs();
  k->set_num(1);
  k->set_channels(1);
  k->set_height(2);
  k->set_width(2);
  for (float x : ramp(4, 0.3f)) k->add_data(x);
  ok &= write_bytes(root + "/caffemodel/v1.caffemodel", v1.SerializeAsString());
  return ok;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_fuzz_seeds <corpus dir>\n");
    return 2;
  }
  const std::string root = argv[1];
  for (const char* d : {"datum", "jpeg", "weights", "solver_state", "mean_file", "caffemodel"}) {
    ::mkdir((root + "/" + d).c_str(), 0755);
  }
  const bool ok = banyan::datum_and_jpeg_seeds(root) && banyan::weights_seeds(root) &&
                  banyan::mean_and_caffemodel_seeds(root);
  return ok ? 0 : 1;
}

// CIFAR-10 binary batches -> LMDB, and the learnable synthetic batches.
// Pixels are stored as the batches hold them (R, G, B planes), as Caffe's
// converter does; nets trained on them see the same channel order.
#include "data/cifar.h"

#include <cstdio>
#include <fstream>

#include "data/datum.h"
#include "data/lmdb.h"

namespace banyan {
namespace {

Status read_batch(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open CIFAR batch '" + path + "'");
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::io_error("cannot read CIFAR batch '" + path + "'");
  if (bytes->empty() || bytes->size() % kCifarRecordBytes != 0) {
    return Status::data_loss("'" + path + "' holds " + std::to_string(bytes->size()) +
                             " bytes, not a whole number of " + std::to_string(kCifarRecordBytes) +
                             "-byte CIFAR-10 records (1 label byte + 3 x 32 x 32 pixels)");
  }
  return Status::success();
}

}  // namespace

Status convert_cifar(const std::vector<std::string>& inputs, const std::string& out_path,
                     const ConvertCifarOptions& options, int64_t* count) {
  if (inputs.empty()) return Status::invalid_argument("no CIFAR batches given");
  // Every batch is checked before anything is written.
  std::vector<std::string> batches(inputs.size());
  for (size_t f = 0; f < inputs.size(); ++f) {
    BANYAN_RETURN_IF_ERROR(read_batch(inputs[f], &batches[f]));
    const std::string& b = batches[f];
    for (size_t r = 0; r < b.size() / kCifarRecordBytes; ++r) {
      const int label = static_cast<uint8_t>(b[r * kCifarRecordBytes]);
      if (label >= options.classes) {
        return Status::data_loss("'" + inputs[f] + "' record " + std::to_string(r) + ": label " +
                                 std::to_string(label) + " is not in [0, " +
                                 std::to_string(options.classes) + ")");
      }
    }
  }
  BANYAN_RETURN_IF_ERROR(prepare_new_lmdb(out_path, options.overwrite));
  LmdbWriter writer;
  BANYAN_RETURN_IF_ERROR(LmdbWriter::open(out_path, LmdbWriterOptions(), &writer));
  DatumRecord record;
  record.channels = 3;
  record.height = kCifarSide;
  record.width = kCifarSide;
  int64_t n = 0;
  char key[16];
  for (const std::string& b : batches) {
    for (size_t r = 0; r < b.size() / kCifarRecordBytes; ++r, ++n) {
      const char* rec = b.data() + r * kCifarRecordBytes;
      record.label = static_cast<uint8_t>(rec[0]);
      record.data.assign(rec + 1, kCifarRecordBytes - 1);
      std::snprintf(key, sizeof(key), "%08lld", static_cast<long long>(n));
      BANYAN_RETURN_IF_ERROR(writer.put(key, serialize_datum(record)));
    }
  }
  BANYAN_RETURN_IF_ERROR(writer.close());
  if (count != nullptr) *count = n;
  return Status::success();
}

Status write_synthetic_cifar(const std::string& path, int64_t count, uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("cannot create '" + path + "'");
  std::string rec(kCifarRecordBytes, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  constexpr int kPlane = kCifarSide * kCifarSide;
  for (int64_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(i % 10);
    rec[0] = static_cast<char>(label);
    // Class k: a 10 x 10 square at one of 10 places, in one of 10 colours.
    const int y0 = 2 + (label / 5) * 16 + static_cast<int>(next() % 4);
    const int x0 = 1 + (label % 5) * 6 + static_cast<int>(next() % 2);
    for (int c = 0; c < 3; ++c) {
      const int level = 90 + 80 * ((label + c) % 3);
      for (int y = 0; y < kCifarSide; ++y) {
        for (int x = 0; x < kCifarSide; ++x) {
          const bool in = y >= y0 && y < y0 + 10 && x >= x0 && x < x0 + 10;
          const int v = (in ? level : 40) + static_cast<int>(next() % 48);
          rec[1 + c * kPlane + y * kCifarSide + x] = static_cast<char>(v);
        }
      }
    }
    out.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  }
  out.close();
  if (!out) return Status::io_error("cannot write '" + path + "'");
  return Status::success();
}

}  // namespace banyan

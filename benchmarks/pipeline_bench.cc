// pipeline_bench: throughput of the input pipeline alone (LMDB read, JPEG
// decode, crop, mirror into uint8 batches; no network), TRAIN phase.
//
// Usage:
//   build/bin/pipeline_bench                       # builds a 256x256 synthetic LMDB first
//   build/bin/pipeline_bench --source=PATH_LMDB    # any Datum LMDB
//   build/bin/pipeline_bench --threads=1,2 --batches=30 --json=pipeline.json
// For 1, 2, 4, ... decode threads up to the core count (or --threads), it
// checks the first batch against the synchronous DataTransformer path, warms
// up, then consumes --batches batches as fast as it can and reports img/s,
// img/s per thread and the decode stage's busy fraction (busy seconds over
// wall seconds x threads), one line each and as JSON (--json).
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "data/image.h"
#include "data/lmdb.h"
#include "data/synthetic_images.h"
#include "pipeline/pipeline.h"

DEFINE_string(source, "", "LMDB to read (default: build a synthetic one at --synthetic_dir)");
DEFINE_string(synthetic_dir, "/tmp/banyan_pipeline_bench_lmdb", "where the synthetic LMDB goes");
DEFINE_int64(count, 512, "images in the synthetic LMDB");
DEFINE_int32(batch, 128, "batch size");
DEFINE_int32(crop, 227, "crop_size");
DEFINE_int32(prefetch, 4, "prefetch depth");
DEFINE_int32(batches, 20, "timed batches per thread count");
DEFINE_int32(warmup, 2, "untimed batches per thread count");
DEFINE_string(threads, "", "comma-separated thread counts (default 1, 2, 4, ... up to the cores)");
DEFINE_string(json, "out/bench/pipeline.json", "JSON output file (empty: none)");

namespace banyan {
namespace {

std::vector<int> thread_counts() {
  std::vector<int> counts;
  if (!FLAGS_threads.empty()) {
    std::stringstream ss(FLAGS_threads);
    for (std::string item; std::getline(ss, item, ',');) counts.push_back(std::stoi(item));
    return counts;
  }
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int t = 1; t < cores; t *= 2) counts.push_back(t);
  counts.push_back(cores);
  return counts;
}

// Compares sample 0 of `b` with decode + DataTransformer::apply.
Status check_first_sample(const Pipeline& p, Batch* b) {
  LmdbReader reader;
  BANYAN_RETURN_IF_ERROR(LmdbReader::open(p.source(), &reader));
  std::string value;
  BANYAN_RETURN_IF_ERROR(reader.get_at(b->positions[0], &value));
  DatumRecord record;
  BANYAN_RETURN_IF_ERROR(parse_datum(value, &record));
  ChwImage image;
  DatumDecoder decoder;
  BANYAN_RETURN_IF_ERROR(decoder.decode(record, JpegColor::kNative, &image));
  if (image.height != p.format().height || image.width != p.format().width) {
    return Status::success();  // a resized record: nothing simple to compare with
  }
  const CropMirror cm{b->h_off()[0], b->w_off()[0], b->mirror()[0] != 0};
  std::vector<float> want(p.sample_count()), got(p.sample_count());
  p.transformer().apply(image, cm, want.data());
  p.transformer().apply_cropped(b->pixels(), cm, got.data());
  if (want != got || b->labels()[0] != static_cast<float>(record.label)) {
    return Status::internal("pipeline batch differs from the synchronous transform");
  }
  return Status::success();
}

struct Result {
  int threads = 0;
  double images_per_s = 0.0, decode_busy = 0.0;
};

Status run_one(const std::string& source, int threads, Result* out) {
  PipelineOptions o;
  o.source = source;
  o.batch_size = FLAGS_batch;
  o.transform.crop_size = FLAGS_crop;
  o.transform.mirror = true;
  o.prefetch = FLAGS_prefetch;
  o.decode_threads = threads;
  std::unique_ptr<Pipeline> p;
  BANYAN_RETURN_IF_ERROR(Pipeline::open(o, &p));
  if (FLAGS_batches <= 0) return Status::invalid_argument("--batches must be > 0");
  int64_t it = 0;
  for (; it < std::max(FLAGS_warmup, 1); ++it) {  // batch 0 is checked
    Batch* b = nullptr;
    BANYAN_RETURN_IF_ERROR(p->acquire(BatchRequest{Phase::kTrain, 1, it, 1, 0}, &b));
    Status check = it == 0 ? check_first_sample(*p, b) : Status::success();
    p->release(b);
    BANYAN_RETURN_IF_ERROR(check);
  }
  const PipelineStats before = p->stats();
  for (int k = 0; k < FLAGS_batches; ++k, ++it) {
    Batch* b = nullptr;
    BANYAN_RETURN_IF_ERROR(p->acquire(BatchRequest{Phase::kTrain, 1, it, 1, 0}, &b));
    p->release(b);
  }
  const PipelineStats d = p->stats().since(before);
  out->threads = threads;
  out->images_per_s = static_cast<double>(FLAGS_batches) * FLAGS_batch / d.wall_s;
  out->decode_busy = d.decode.busy_s / (d.wall_s * threads);
  LOG(INFO) << summarize(d);
  return Status::success();
}

int run() {
  std::string source = FLAGS_source;
  if (source.empty()) {
    source = FLAGS_synthetic_dir;
    if (!std::filesystem::exists(source + "/data.mdb")) {
      SyntheticImagesetOptions so;
      so.count = FLAGS_count;
      so.size = 256;
      LOG(INFO) << "writing " << so.count << " synthetic 256x256 JPEGs to " << source;
      Status s = write_synthetic_imageset(source, so, nullptr);
      if (!s.ok()) {
        LOG(ERROR) << s.message();
        return 1;
      }
    }
  }
  std::vector<Result> results;
  for (int threads : thread_counts()) {
    Result r;
    Status s = run_one(source, threads, &r);
    if (!s.ok()) {
      LOG(ERROR) << "pipeline_bench: " << s.message();
      return 1;
    }
    std::printf("threads %2d: %9.1f img/s  %8.1f img/s/thread  decode busy %3.0f%%\n", threads,
                r.images_per_s, r.images_per_s / threads, 100.0 * r.decode_busy);
    std::fflush(stdout);
    results.push_back(r);
  }
  if (!FLAGS_json.empty()) {
    const std::filesystem::path dir = std::filesystem::path(FLAGS_json).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
    std::ofstream f(FLAGS_json);
    f << "{\"benchmark\": \"pipeline\", \"source\": \"" << source
      << "\", \"batch\": " << FLAGS_batch << ", \"crop\": " << FLAGS_crop << ", \"results\": [";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      f << (i ? ", " : "") << "{\"threads\": " << r.threads
        << ", \"images_per_s\": " << r.images_per_s
        << ", \"images_per_s_per_thread\": " << r.images_per_s / r.threads
        << ", \"decode_busy_fraction\": " << r.decode_busy << "}";
    }
    f << "]}\n";
  }
  return 0;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return banyan::run();
}

// The MPI job as a Cluster (builds with MPI only): one communicator
// (MPI_Comm_dup of MPI_COMM_WORLD) per user, sums as MPI_Reduce to rank 0
// plus MPI_Bcast (every rank gets rank 0's bits), and the heartbeat: each
// rank sends a small message to the next rank of a ring every half second
// and watches the previous one; silence for the timeout ends the job naming
// the silent rank and its host.  At the end every rank sends "done" around
// the ring, so a rank that finishes first does not take its neighbour's
// silence for a failure.
#ifdef BANYAN_WITH_MPI

#include <glog/logging.h>
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/exchange/cluster.h"
#include "engine/exchange/wire.h"

namespace banyan {
namespace {

constexpr int kHeartbeatTag = 77;
constexpr int kAlive = 1;
constexpr int kDone = 2;
constexpr size_t kChunk = size_t{1} << 30;  // elements per MPI call (counts are int)

// The reduction of 16-bit gradients: widen, add in FP32, round back
// (engine/exchange/wire.h).  One MPI_Op per wire type, made on first use
// (after MPI_Init) and kept for the process's life.
template <WirePrecision kWire>
void wire_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  add_on_wire(static_cast<const uint16_t*>(in), static_cast<uint16_t*>(inout),
              static_cast<size_t>(*len), kWire);
}
template <WirePrecision kWire>
MPI_Op wire_sum_op() {
  static const MPI_Op op = [] {
    MPI_Op made;
    MPI_Op_create(&wire_sum<kWire>, /*commute=*/1, &made);
    return made;
  }();
  return op;
}
MPI_Op wire_sum_op(WirePrecision wire) {
  return wire == WirePrecision::kBf16 ? wire_sum_op<WirePrecision::kBf16>()
                                      : wire_sum_op<WirePrecision::kFp16>();
}

double now_s() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

class MpiComm : public ProcessComm {
 public:
  explicit MpiComm(MPI_Comm comm) : comm_(comm) { MPI_Comm_rank(comm_, &rank_); }
  ~MpiComm() override { MPI_Comm_free(&comm_); }

  Status sum(float* data, size_t n) override { return reduce_bcast(data, n, MPI_FLOAT, 4); }
  Status sum(double* data, size_t n) override { return reduce_bcast(data, n, MPI_DOUBLE, 8); }

  Status sum(float* data, size_t n, WirePrecision wire) override {
    if (wire == WirePrecision::kFloat32) return sum(data, n);
    if (wire_.size() < n) wire_.resize(n);  // grows once, to the largest bucket
    to_wire(data, n, wire, wire_.data());
    BANYAN_RETURN_IF_ERROR(reduce_bcast(wire_.data(), n, MPI_UINT16_T, 2, wire_sum_op(wire)));
    from_wire(wire_.data(), n, wire, data);
    return Status::success();
  }

  Status broadcast(void* data, size_t bytes) override {
    for (size_t done = 0; done < bytes; done += kChunk) {
      const int c = static_cast<int>(std::min(kChunk, bytes - done));
      MPI_Bcast(static_cast<char*>(data) + done, c, MPI_BYTE, 0, comm_);
    }
    return Status::success();
  }

  Status gather_all(uint64_t value, std::vector<uint64_t>* out) override {
    int size = 0;
    MPI_Comm_size(comm_, &size);
    out->assign(static_cast<size_t>(size), 0);
    MPI_Allgather(&value, 1, MPI_UINT64_T, out->data(), 1, MPI_UINT64_T, comm_);
    return Status::success();
  }

 private:
  Status reduce_bcast(void* data, size_t n, MPI_Datatype type, size_t elem, MPI_Op op = MPI_SUM) {
    for (size_t done = 0; done < n; done += kChunk) {
      const int c = static_cast<int>(std::min(kChunk, n - done));
      char* p = static_cast<char*>(data) + done * elem;
      if (rank_ == 0) {
        MPI_Reduce(MPI_IN_PLACE, p, c, type, op, 0, comm_);
      } else {
        MPI_Reduce(p, nullptr, c, type, op, 0, comm_);
      }
      MPI_Bcast(p, c, type, 0, comm_);
    }
    return Status::success();
  }

  MPI_Comm comm_;
  int rank_ = 0;
  std::vector<uint16_t> wire_;
};

class MpiCluster : public Cluster {
 public:
  ~MpiCluster() override {
    if (heartbeat_.joinable()) finish();
  }

  Status init(int* argc, char*** argv, double heartbeat_timeout_s) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    if (provided < MPI_THREAD_MULTIPLE) {
      return Status::invalid_argument(
          "this MPI does not support MPI_THREAD_MULTIPLE (every exchange thread runs its own "
          "collectives); use an Open MPI built with thread support");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    char name[256] = {0};
    if (gethostname(name, sizeof(name) - 1) != 0) std::strcpy(name, "?");
    std::vector<char> all(static_cast<size_t>(size_) * sizeof(name));
    MPI_Allgather(name, sizeof(name), MPI_CHAR, all.data(), sizeof(name), MPI_CHAR, MPI_COMM_WORLD);
    for (int r = 0; r < size_; ++r) hosts_.emplace_back(all.data() + r * sizeof(name));
    timeout_s_ = heartbeat_timeout_s;
    MPI_Comm_dup(MPI_COMM_WORLD, &heartbeat_comm_);
    if (size_ > 1) heartbeat_ = std::thread([this] { beat(); });
    return Status::success();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& host() const override { return hosts_[static_cast<size_t>(rank_)]; }
  const std::vector<std::string>& hosts() const override { return hosts_; }

  Status communicator(std::unique_ptr<ProcessComm>* out) override {
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    *out = std::make_unique<MpiComm>(comm);
    return Status::success();
  }

  void abort(const std::string& reason, int exit_code) override {
    // One line on stderr (glog may be filtered on this rank), then the job ends.
    std::fprintf(stderr, "banyan: %s: %s; stopping every rank\n", describe_rank(rank_).c_str(),
                 reason.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code == 0 ? 1 : exit_code);
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    done_.store(true);
    if (heartbeat_.joinable()) heartbeat_.join();
    MPI_Comm_free(&heartbeat_comm_);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
  }

 private:
  // The heartbeat thread: beats to the next rank, watches the previous one.
  void beat() {
    const int next = (rank_ + 1) % size_, prev = (rank_ + size_ - 1) % size_;
    int incoming = 0, outgoing = kAlive;
    MPI_Request recv, send = MPI_REQUEST_NULL;
    MPI_Irecv(&incoming, 1, MPI_INT, prev, kHeartbeatTag, heartbeat_comm_, &recv);
    double last_heard = now_s(), last_sent = 0.0;
    bool prev_done = false, said_done = false;
    while (!(prev_done && said_done)) {
      const double t = now_s();
      if (!said_done && (done_.load() || t - last_sent >= 0.5)) {
        if (send != MPI_REQUEST_NULL) MPI_Wait(&send, MPI_STATUS_IGNORE);
        outgoing = done_.load() ? kDone : kAlive;
        MPI_Isend(&outgoing, 1, MPI_INT, next, kHeartbeatTag, heartbeat_comm_, &send);
        last_sent = t;
        said_done = outgoing == kDone;
      }
      if (!prev_done) {
        int arrived = 0;
        MPI_Test(&recv, &arrived, MPI_STATUS_IGNORE);
        if (arrived) {
          last_heard = t;
          if (incoming == kDone) {
            prev_done = true;
          } else {
            MPI_Irecv(&incoming, 1, MPI_INT, prev, kHeartbeatTag, heartbeat_comm_, &recv);
          }
        } else if (t - last_heard > timeout_s_) {
          char why[256];
          std::snprintf(why, sizeof(why),
                        "no heartbeat from %s for %.0f s (killed, stopped or hung)",
                        describe_rank(prev).c_str(), t - last_heard);
          abort(why, 1);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (send != MPI_REQUEST_NULL) MPI_Wait(&send, MPI_STATUS_IGNORE);
  }

  int rank_ = 0, size_ = 1;
  std::vector<std::string> hosts_;
  double timeout_s_ = 30.0;
  MPI_Comm heartbeat_comm_ = MPI_COMM_NULL;
  std::thread heartbeat_;
  std::atomic<bool> done_{false};
  bool finished_ = false;
};

}  // namespace

Status make_mpi_cluster(int* argc, char*** argv, double heartbeat_timeout_s,
                        std::unique_ptr<Cluster>* out) {
  auto c = std::make_unique<MpiCluster>();
  BANYAN_RETURN_IF_ERROR(c->init(argc, argv, heartbeat_timeout_s));
  *out = std::move(c);
  return Status::success();
}

}  // namespace banyan

#endif  // BANYAN_WITH_MPI

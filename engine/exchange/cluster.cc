// The cluster of one process, and the choice between it and the MPI job
// (mpi_cluster.cc) at start-up.
#include "engine/exchange/cluster.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace banyan {
namespace {

class SingleComm : public ProcessComm {
 public:
  Status sum(float*, size_t) override { return Status::success(); }
  Status sum(double*, size_t) override { return Status::success(); }
  Status sum(float*, size_t, WirePrecision) override { return Status::success(); }
  Status broadcast(void*, size_t) override { return Status::success(); }
  Status gather_all(uint64_t value, std::vector<uint64_t>* out) override {
    *out = {value};
    return Status::success();
  }
};

class SingleCluster : public Cluster {
 public:
  SingleCluster() {
    char name[256] = {0};
    if (gethostname(name, sizeof(name) - 1) != 0) std::strcpy(name, "localhost");
    hosts_ = {name};
  }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const std::string& host() const override { return hosts_[0]; }
  const std::vector<std::string>& hosts() const override { return hosts_; }
  Status communicator(std::unique_ptr<ProcessComm>* out) override {
    *out = std::make_unique<SingleComm>();
    return Status::success();
  }
  void abort(const std::string&, int) override {}
  void finish() override {}

 private:
  std::vector<std::string> hosts_;
};

bool started_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}

}  // namespace

#ifdef BANYAN_WITH_MPI
Status make_mpi_cluster(int* argc, char*** argv, double heartbeat_timeout_s,
                        std::unique_ptr<Cluster>* out);  // mpi_cluster.cc
#endif

std::unique_ptr<Cluster> Cluster::single() { return std::make_unique<SingleCluster>(); }

Status Cluster::from_environment(int* argc, char*** argv, double heartbeat_timeout_s,
                                 std::unique_ptr<Cluster>* out) {
  if (!started_by_mpi()) {
    *out = single();
    return Status::success();
  }
#ifdef BANYAN_WITH_MPI
  return make_mpi_cluster(argc, argv, heartbeat_timeout_s, out);
#else
  (void)argc;
  (void)argv;
  (void)heartbeat_timeout_s;
  return Status::invalid_argument(
      "started by an MPI launcher, but this build has no MPI (install libopenmpi-dev and "
      "reconfigure)");
#endif
}

std::string Cluster::describe_rank(int r) const {
  const std::vector<std::string>& h = hosts();
  return "rank " + std::to_string(r) + " on host " +
         (r >= 0 && r < static_cast<int>(h.size()) ? h[r] : std::string("?"));
}

}  // namespace banyan

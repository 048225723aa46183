// Cluster: the processes of one training run.  A plain run is a cluster of
// one; started by an MPI launcher (`mpirun -np P banyan train ...`, or
// `srun` through the same MPI) every process is one rank of the MPI job,
// with its own local --devices, and the worker groups of all processes
// train one model (DESIGN §5: "the same exchange runs across nodes").
// MPI is the transport (Open MPI, MPI_THREAD_MULTIPLE); nothing here is
// home-made networking.  A failing rank ends the whole job at once
// (MPI_Abort), and a heartbeat around a ring of the ranks ends it when a
// rank stops responding (killed, stopped, hung), so no rank is ever left
// waiting in a collective.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan {

// Collectives over every process of the cluster on one communicator.  Each
// user that may run collectives concurrently with others (one exchange per
// partition, on its own thread) gets its own.  Every process must call the
// same collectives in the same order.  Not thread-safe per object.
class ProcessComm {
 public:
  virtual ~ProcessComm() = default;
  // Replaces data (n elements, the same n on every process) with the
  // elementwise sum over the processes: reduced to rank 0 and broadcast, so
  // every process gets the same bits.
  virtual Status sum(float* data, size_t n) = 0;
  virtual Status sum(double* data, size_t n) = 0;
  // As sum(float*), with the values crossing the wire as `wire`: each
  // process rounds its values to the 16-bit type (round to nearest even;
  // FP16 saturates to +-65504 instead of overflowing to infinity), every
  // addition of the reduction is done in FP32 and rounded back, and every
  // process gets rank 0's 16-bit result widened to float.  Half the bytes
  // of sum(); kFloat32 is sum().  Scratch for the 16-bit copy is kept and
  // reused, so repeated calls of one size allocate nothing.
  virtual Status sum(float* data, size_t n, WirePrecision wire) = 0;
  // Rank 0's `bytes` at data replace everyone's.
  virtual Status broadcast(void* data, size_t bytes) = 0;
  // Every process's `value` (rank order).
  virtual Status gather_all(uint64_t value, std::vector<uint64_t>* out) = 0;
};

class Cluster {
 public:
  virtual ~Cluster() = default;

  // A cluster of this one process.
  static std::unique_ptr<Cluster> single();
  // The MPI job this process was started in (mpirun / srun set
  // OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK), or a cluster of one when
  // there is none.  Initialises MPI (MPI_THREAD_MULTIPLE) and starts the
  // heartbeat: a rank not heard from for `heartbeat_timeout_s` ends the job
  // naming it and its host.  InvalidArgument when started by an MPI launcher
  // but built without MPI, or when MPI lacks thread support.  Call once,
  // first thing in main.
  static Status from_environment(int* argc, char*** argv, double heartbeat_timeout_s,
                                 std::unique_ptr<Cluster>* out);

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::string& host() const = 0;
  // The host of every rank (rank order).
  virtual const std::vector<std::string>& hosts() const = 0;
  // "rank 1 on host node7".
  std::string describe_rank(int rank) const;

  // A communicator of its own over every process (collective: every process
  // asks for the same communicators in the same order).
  virtual Status communicator(std::unique_ptr<ProcessComm>* out) = 0;

  // Ends every process of the job now, after logging `reason` with this
  // rank and host; does not return when the cluster has more than one
  // process (MPI_Abort).  No-op for a cluster of one.
  virtual void abort(const std::string& reason, int exit_code) = 0;

  // A clean end: every rank says goodbye to the heartbeat, waits for the
  // others, and leaves MPI.  Call once, after the last collective.
  virtual void finish() = 0;
};

}  // namespace banyan

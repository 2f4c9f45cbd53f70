// A host program that already runs MPI, for tests/runtime/test_fit_mpi.cpp: it starts MPI itself,
// makes a communicator of its own (MPI_Comm_split of MPI_COMM_WORLD), and hands fit::fitProgram a
// fit::MpiCommunicator of it through Job::comm, as docs/fit.md ("Many processes (MPI)") tells a
// host to. Every rank calls fitProgram with the same job; rank 0 writes the params file.
//   mpirun -np N nabla_mpi_host MODEL DATA.csv OUT.json
// Trains with adam, lr 0.05, 3 epochs, seed 7, standardizing every input but the target.
#include "runtime/fit/fit.h"
#include "runtime/mpi/comm_mpi.h"

#include <cstdio>
#include <exception>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  MPI_Comm own = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, 0, 0, &own);
  try {
    if (argc != 4) throw std::runtime_error("usage: nabla_mpi_host MODEL DATA.csv OUT.json");
    nabla::fit::MpiCommunicator comm(own);
    nabla::driver::Options options;
    options.deferBodies = true;
    nabla::driver::Program program =
        nabla::driver::Program::load(nabla::driver::readFile(argv[1], options.limits), options);
    nabla::fit::Job job;
    job.comm = &comm;
    job.dataPath = argv[2];
    job.outputPath = argv[3];
    job.standardize = std::vector<std::string>{};
    job.run.settings.optimizer = "adam";
    job.run.settings.hyper.lr = 0.05;
    job.run.settings.seed = 7;
    job.run.epochs = 3;
    nabla::fit::JobResult done = nabla::fit::fitProgram(std::move(program), argv[1], job);
    if (comm.rank() == 0)
      std::printf("%zu steps, loss %.17g over %zu rows on %d ranks\n", done.result.steps,
                  done.result.loss, done.data.allRows(), comm.size());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "nabla_mpi_host: %s\n", e.what());
    status = 1;
  }
  MPI_Comm_free(&own);
  MPI_Finalize();
  return status;
}

// Every edgeopt command: int RunX(argc, argv), with argv[0] = "edgeopt x".
#ifndef EDGEOPT_TOOLS_CLI_COMMANDS_H_
#define EDGEOPT_TOOLS_CLI_COMMANDS_H_

#include <string>

namespace edgeopt {
namespace cli {

int RunConvert(int argc, char** argv);
int RunInspect(int argc, char** argv);
int RunRun(int argc, char** argv);
int RunBench(int argc, char** argv);
int RunQuantize(int argc, char** argv);
int RunCompare(int argc, char** argv);
int RunIr(int argc, char** argv);
int RunTrain(int argc, char** argv);
int RunEval(int argc, char** argv);
int RunPrune(int argc, char** argv);
int RunCluster(int argc, char** argv);
int RunLowRank(int argc, char** argv);
int RunDistill(int argc, char** argv);
int RunQat(int argc, char** argv);
int RunPipeline(int argc, char** argv);
int RunExportC(int argc, char** argv);

// inspect for Keras .h5/.keras files (tools/cli/inspect_keras.cc).
int InspectKeras(const std::string& path);

}  // namespace cli
}  // namespace edgeopt

#endif  // EDGEOPT_TOOLS_CLI_COMMANDS_H_

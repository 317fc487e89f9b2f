// The cryo binary: everything lives in the libraries; main only hands over argv.
#include "cli/cli.h"

int main(int argc, char** argv)
{
    return cryo::cli::cryo_main(argc, argv);
}

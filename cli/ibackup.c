/*
 * ibackup.c - the program's entry point (the command line is main.c's
 * ibackup_main, a library function so tests can run it in-process).
 */
#include "cli_cmds.h"

int
main(int argc, char **argv)
{
	return ibackup_main(argc, argv);
}

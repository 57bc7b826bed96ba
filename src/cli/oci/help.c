/* Per-command help, as runc has it: `vessel-oci run --help`, `vessel-oci
 * help run`. */
#include <stdio.h>
#include <string.h>

#include "cli/oci/oci.h"

static const struct {
	const char *name, *text;
} helps[] = {
	{ "create", "usage: vessel-oci create [options] ID\n"
		    "\n"
		    "Create container ID from the bundle: its init waits for `start`.\n"
		    "\n"
		    "  -b, --bundle DIR        bundle directory (default: the current directory)\n"
		    "  --console-socket PATH   send the pty master of a terminal process to this socket\n"
		    "  --pid-file FILE         write the init's pid to FILE\n"
		    "  --no-pivot              chroot-style root (no pivot_root)\n"
		    "  --no-new-keyring        accepted; no session keyring is created anyway\n"
		    "  --preserve-fds N        pass N fds after stdio (3 .. 3+N-1) to the process\n" },
	{ "run", "usage: vessel-oci run [options] ID\n"
		 "\n"
		 "Create and start container ID, wait for it and delete it; the exit status is\n"
		 "the process's (128+N when killed by signal N). When config.json asks for a\n"
		 "terminal and no --console-socket is given, the process gets a pty on the\n"
		 "caller's terminal (stdin must be one), as runc does.\n"
		 "\n"
		 "  -b, --bundle DIR        bundle directory (default: the current directory)\n"
		 "  -d, --detach            return once the process runs\n"
		 "  --keep                  keep the stopped container (no delete)\n"
		 "  --console-socket PATH   send the pty master to this socket\n"
		 "  --pid-file FILE         write the init's pid to FILE\n"
		 "  --no-pivot, --no-new-keyring, --preserve-fds N   as for create\n" },
	{ "start", "usage: vessel-oci start ID\n\nRun the process of created container ID.\n" },
	{ "exec", "usage: vessel-oci exec [options] ID [--] CMD [ARG...]\n"
		  "       vessel-oci exec [options] --process FILE ID\n"
		  "\n"
		  "Run a process in running container ID; the exit status is the process's.\n"
		  "\n"
		  "  -p, --process FILE      the process as OCI process JSON\n"
		  "  -e, --env NAME=VALUE    add or replace a variable (repeatable)\n"
		  "  --cwd DIR               working directory\n"
		  "  -u, --user UID[:GID]    user\n"
		  "  -g, --additional-gids G additional group (repeatable)\n"
		  "  -c, --cap CAP           add a capability (repeatable)\n"
		  "  --no-new-privs          set no_new_privs\n"
		  "  -t, --tty               a pty (with --console-socket)\n"
		  "  --console-socket PATH   send the pty master to this socket\n"
		  "  -d, --detach            return once the process runs\n"
		  "  --pid-file FILE         write the process's pid to FILE\n"
		  "  --preserve-fds N        pass N fds after stdio\n"
		  "  --process-label, --apparmor, --cgroup, --ignore-paused   accepted, ignored\n" },
	{ "state", "usage: vessel-oci state ID\n\nPrint the OCI state of container ID as JSON.\n" },
	{ "list", "usage: vessel-oci list [options]\n"
		  "\n"
		  "List the containers under --root: ID, PID, STATUS, BUNDLE, CREATED, OWNER.\n"
		  "\n"
		  "  -f, --format table|json  output format (default table)\n"
		  "  -q, --quiet              only the ids\n" },
	{ "kill", "usage: vessel-oci kill [options] ID [SIGNAL]\n"
		  "\n"
		  "Send SIGNAL (default SIGTERM; a number, KILL or SIGKILL) to the init of ID.\n"
		  "\n"
		  "  -a, --all   signal every process of the container\n" },
	{ "delete", "usage: vessel-oci delete [options] ID\n"
		    "\n"
		    "Remove stopped container ID (its state, cgroup, poststop hooks run).\n"
		    "\n"
		    "  -f, --force   kill the container first if it is not stopped (created,\n"
		    "                running or paused); without it such a container is left as is\n" },
	{ "pause", "usage: vessel-oci pause ID\n\nFreeze every process of container ID (cgroup freezer).\n" },
	{ "resume", "usage: vessel-oci resume ID\n\nThaw paused container ID.\n" },
	{ "ps", "usage: vessel-oci ps [options] ID [PS_ARGS...]\n"
		"\n"
		"List the processes of container ID.\n"
		"\n"
		"  -f, --format table|json   ps output (default), or a JSON array of pids\n" },
	{ "update", "usage: vessel-oci update [options] ID\n"
		    "\n"
		    "Change the cgroup limits of container ID.\n"
		    "\n"
		    "  -r, --resources FILE     linux.resources JSON (- for stdin)\n"
		    "  --memory SIZE            memory limit (bytes, or 64M, 1g, 512KiB; -1: none)\n"
		    "  --memory-reservation SIZE, --memory-swap SIZE, --kernel-memory SIZE\n"
		    "  --cpu-shares N, --cpu-quota N, --cpu-period N\n"
		    "  --cpu-rt-runtime N, --cpu-rt-period N\n"
		    "  --cpuset-cpus LIST, --cpuset-mems LIST\n"
		    "  --pids-limit N, --blkio-weight N\n" },
	{ "features",
	  "usage: vessel-oci features\n\nPrint what this runtime supports (OCI features JSON).\n" },
	{ "spec", "usage: vessel-oci spec [options]\n"
		  "\n"
		  "Write a default config.json (runc's, process.terminal true) to the bundle.\n"
		  "\n"
		  "  -b, --bundle DIR   where to write it (default: the current directory)\n"
		  "  --rootless         a spec for a user namespace\n" },
	{ "help", "usage: vessel-oci help [COMMAND]\n\nShow the help of vessel-oci or of COMMAND.\n" },
};

int oci_help_print(const char *cmd, FILE *out)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, cmd) == 0) {
			fputs(helps[i].text, out);
			return 0;
		}
	return -1;
}

bool oci_wants_help(int argc, char **argv)
{
	/* Options before the first operand, as urfave/cli reads them for
	 * runc: `exec ID ls --help` is ls's. */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

// SPDX-License-Identifier: MIT
/*
 * capsule-kernel-tracer: loads tracer.bpf.o (through its skeleton), attaches it, and
 * streams its ring buffer's records (records.h) to stdout unchanged, framed as they are.
 *
 *   capsule-kernel-tracer --level process|files|full [--policy NR:KIND:A:B[:D],...] [--all]
 *                         [--refusals] [--btf FILE] [--ring-mb N] [--poll-ms N] [--then CMD ARGS...]
 *
 * --then (bin/capsule, `capsule run` as root): before loading, fork; the parent execs CMD
 * (node running the CLI) with CAPSULE_EARLY_LOADER=<the child's pid>, so the programs load
 * while node boots. The child is the loader: in a session of its own (the terminal's
 * Ctrl-C is not for it), not node's child (no zombie under node), stopped when node ends
 * (it watches it through a pidfd) or sends SIGTERM, its errors not shown (the CLI
 * starts a loader of its own to learn them). Its stdin and stdout are the one connection
 * it accepts, from its parent only, on the abstract Unix socket "capsule-early-<parent pid>"
 * (the name as written, and padded with NULs to the whole sun_path):
 * there the CLI sends the policy and the root's pid and reads the records, or closes it
 * at once when it does not use this loader.
 *
 * It loads and attaches first, then reads from stdin the policy (one line, when --policy
 * was not given: so it can be started before its caller knows the policy) and the root's
 * pid (one line), arms it, writes REC_START, and from then on drains the ring every --poll-ms (the BPF side
 * writes without wake-ups except for the exit of the tree's last process). When no traced process is left (or
 * on SIGINT/SIGTERM) it drains what is left, writes REC_END and exits 0. Records the
 * kernel could not reserve are counted per CPU and written as REC_LOST. Errors: one line
 * on stderr, exit 1 (cannot load or attach) or 2 (usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/types.h>
#include "records.h"
#include "tracer.skel.h"

static volatile sig_atomic_t stop_requested;
static unsigned char *out;
static size_t out_len, out_cap = 1 << 20;
static int out_broken;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void flush_out(void)
{
	size_t done = 0;
	while (done < out_len && !out_broken) {
		ssize_t n = write(1, out + done, out_len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			out_broken = 1;
			break;
		}
		done += n;
	}
	out_len = 0;
}

static void put(const void *p, size_t n)
{
	if (out_len + n > out_cap)
		flush_out();
	if (n > out_cap) {
		/* never: records are smaller than the buffer */
		return;
	}
	memcpy(out + out_len, p, n);
	out_len += n;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	put(data, size);
	return 0;
}

static __u64 mono_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void header(struct rec_hdr *h, __u16 type, __u32 size)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->size = size;
	h->ts = mono_ns(CLOCK_MONOTONIC);
}

static __u64 reported[256];

/* REC_LOST for every CPU whose count grew since the last report. */
static void report_losses(struct capsule_tracer_bpf *skel, int ncpu)
{
	for (int c = 0; c < ncpu && c < 256; c++) {
		__u64 now = __atomic_load_n(&skel->bss->lost[c], __ATOMIC_RELAXED);
		if (now == reported[c])
			continue;
		struct rec_lost r;
		header(&r.h, REC_LOST, sizeof(r));
		r.count = now - reported[c];
		r.cpu = c;
		r._pad = 0;
		reported[c] = now;
		put(&r, sizeof(r));
	}
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN && getenv("CAPSULE_TRACER_DEBUG"))
		return vfprintf(stderr, fmt, args);
	if (level == LIBBPF_DEBUG && getenv("CAPSULE_TRACER_DEBUG"))
		return vfprintf(stderr, fmt, args);
	return 0;
}

/* One line of stdin without its newline, or NULL at the end of input. */
static char *read_line(void)
{
	static char *buf;
	static size_t cap;
	ssize_t n = getline(&buf, &cap, stdin);
	if (n <= 0)
		return NULL;
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return buf;
}

/* Fill the policy map from "NR:KIND:A:B[:D],...": what each syscall number records (D: where
 * a receive's bytes are, D_*, kept when it came from port 53). */
static int set_policy(int pfd, const char *policy)
{
	for (const char *s = policy; *s;) {
		unsigned nr, kind, a, b, d = D_NONE;
		int used = 0, more = 0;
		if (sscanf(s, "%u:%u:%u:%u%n", &nr, &kind, &a, &b, &used) != 4 || nr >= 1024)
			return -1;
		s += used;
		if (*s == ':') {
			if (sscanf(s, ":%u%n", &d, &more) != 1 || d > D_MMSG)
				return -1;
			s += more;
		}
		struct policy p = {.kind = kind, .str_a = a, .str_b = b, .record = 1, .data = d};
		bpf_map_update_elem(pfd, &nr, &p, BPF_ANY);
		if (*s == ',')
			s++;
	}
	return 0;
}

/*
 * --then: listen on "capsule-early-<pid>", fork, exec CMD in the parent; returns the
 * listening socket in the child (-1 when CMD was exec'd without a loader beside it: the
 * socket or the fork failed), and never returns in the parent.
 */
/* --then: a pidfd of the parent (node after its exec), opened at the fork, or -1. */
static int parent_fd = -1;

static int fork_then(char **cmd, pid_t *parent, int lfd[2])
{
	*parent = getpid();
	/*
	 * Two names, one socket each: the name with its length as written, and the whole
	 * sun_path padded with NULs (Node 20 connects with the padded length).
	 */
	pid_t child = -1;
	int ok = 1;
	for (int k = 0; k < 2; k++) {
		lfd[k] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a;
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "capsule-early-%d", (int)*parent);
		socklen_t len = k == 0 ? offsetof(struct sockaddr_un, sun_path) + 1 + n : sizeof(a);
		ok = ok && lfd[k] >= 0 && bind(lfd[k], (struct sockaddr *)&a, len) == 0 && listen(lfd[k], 1) == 0;
	}
	/*
	 * The loader is the child of a child that exits at once: not node's child, so no
	 * zombie under node once it ends (node reaps only what it spawned); it watches its
	 * parent (node, from the exec on) through a pidfd instead of PR_SET_PDEATHSIG.
	 */
	int link[2] = {-1, -1};
	if (ok && pipe2(link, O_CLOEXEC) == 0)
		child = fork();
	if (child == 0) {
		pid_t loader = fork();
		if (loader != 0) {
			/* the middle one: hand over the loader's pid (or -1) and go */
			(void)!write(link[1], &loader, sizeof(loader));
			_exit(0);
		}
		close(link[0]);
		close(link[1]);
		parent_fd = (int)syscall(SYS_pidfd_open, *parent, 0);
		setsid();
		if (!getenv("CAPSULE_TRACER_DEBUG")) {
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (null >= 0)
				dup2(null, 2);
		}
		return 0;
	}
	if (child > 0) {
		pid_t loader = -1;
		close(link[1]);
		if (read(link[0], &loader, sizeof(loader)) != sizeof(loader))
			loader = -1;
		close(link[0]);
		waitpid(child, NULL, 0);
		child = loader;
	}
	if (child > 0) {
		char v[24];
		snprintf(v, sizeof(v), "%d", (int)child);
		setenv("CAPSULE_EARLY_LOADER", v, 1);
	} else
		unsetenv("CAPSULE_EARLY_LOADER");
	execvp(cmd[0], cmd);
	fprintf(stderr, "capsule: cannot run %s: %s\n", cmd[0], strerror(errno));
	_exit(127);
}

/* --then: the parent's connection becomes stdin and stdout; 0, or -1 when none came (or the parent died). */
static int accept_parent(int lfd[2], pid_t parent)
{
	/* the parent's end (node's, after its exec) makes its pidfd readable; where there is none, kill(0) every 100 ms */
	int pfd = parent_fd;
	for (;;) {
		if (stop_requested || (pfd < 0 && kill(parent, 0) != 0))
			return -1;
		struct pollfd p[3] = {{.fd = lfd[0], .events = POLLIN}, {.fd = lfd[1], .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		if (poll(p, 3, 100) <= 0)
			continue;
		if (p[2].revents & POLLIN)
			return -1;
		for (int k = 0; k < 2; k++) {
			if (!(p[k].revents & POLLIN))
				continue;
			int c = accept4(lfd[k], NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			struct ucred cr;
			socklen_t l = sizeof(cr);
			if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.pid == parent && cr.uid == 0) {
				close(lfd[0]);
				close(lfd[1]);
				if (dup2(c, 0) < 0 || dup2(c, 1) < 0)
					return -1;
				close(c);
				return 0;
			}
			close(c);
		}
	}
}

/* One line per program that ran: its runs and the time the kernel spent in it; then this process's own CPU. */
static void print_stats(struct capsule_tracer_bpf *skel)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
			fprintf(stderr, "capsule-kernel-tracer: stats %s runs %llu ns %llu\n", bpf_program__name(prog),
				(unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
	}
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(stderr, "capsule-kernel-tracer: stats loader-cpu us %llu\n",
			(unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int usage(const char *why)
{
	fprintf(stderr, "capsule-kernel-tracer: %s\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	const char *level = NULL, *policy = NULL, *btf = NULL;
	int all = 0, refusals = 0, ring_mb = 16, poll_ms = 25, stats = 0;
	char **then = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--then") && v) {
			then = argv + i + 1;
			break;
		} else if (!strcmp(a, "--all"))
			all = 1;
		else if (!strcmp(a, "--refusals"))
			refusals = 1;
		else if (!strcmp(a, "--stats"))
			stats = 1;
		else if (!strcmp(a, "--level") && v)
			level = argv[++i];
		else if (!strcmp(a, "--policy") && v)
			policy = argv[++i];
		else if (!strcmp(a, "--btf") && v)
			btf = argv[++i];
		else if (!strcmp(a, "--ring-mb") && v)
			ring_mb = atoi(argv[++i]);
		else if (!strcmp(a, "--poll-ms") && v)
			poll_ms = atoi(argv[++i]);
		else
			return usage("usage: --level process|files|full [--policy NR:KIND:A:B[:D],...] [--all] [--refusals] [--btf FILE] [--ring-mb N] [--poll-ms N] [--stats]");
	}
	if (!level)
		return usage("--level is required");
	if (ring_mb < 1 || (ring_mb & (ring_mb - 1)) != 0 || ring_mb > 1024)
		return usage("--ring-mb must be a power of two, 1..1024");
	if (poll_ms < 1)
		poll_ms = 1;
	int lfd[2] = {-1, -1};
	pid_t parent = 0;
	if (then) {
		fork_then(then, &parent, lfd);
		struct sigaction st = {.sa_handler = on_signal};
		sigaction(SIGTERM, &st, NULL);
	}
	__u64 t_start = mono_ns(CLOCK_MONOTONIC);
	libbpf_set_print(libbpf_quiet);
	out = malloc(out_cap);
	if (!out)
		return 1;

	LIBBPF_OPTS(bpf_object_open_opts, oo);
	if (btf && access(btf, R_OK) == 0)
		oo.btf_custom_path = btf;
	struct capsule_tracer_bpf *skel = capsule_tracer_bpf__open_opts(&oo);
	if (!skel) {
		fprintf(stderr, "capsule-kernel-tracer: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->sum_io = strcmp(level, "files") == 0;
	skel->rodata->refusals = refusals;
	bpf_map__set_max_entries(skel->maps.rb, (__u32)ring_mb << 20);
	int err = capsule_tracer_bpf__load(skel);
	if (err) {
		fprintf(stderr, "capsule-kernel-tracer: the kernel refused the BPF program: %s\n", strerror(-err));
		return 1;
	}
	/* the policy: what each syscall number records */
	int pfd = bpf_map__fd(skel->maps.policy);
	if (all) {
		struct policy p = {.kind = K_PLAIN, .record = 1};
		for (__u32 nr = 0; nr < 1024; nr++)
			bpf_map_update_elem(pfd, &nr, &p, BPF_ANY);
	}
	if (policy && set_policy(pfd, policy))
		return usage("bad --policy entry");
	err = capsule_tracer_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "capsule-kernel-tracer: cannot attach to the tracepoints: %s\n", strerror(-err));
		return 1;
	}
	/* --stats (benchmarks): the kernel times every program run while this fd is open */
	int stats_fd = stats ? bpf_enable_stats(BPF_STATS_RUN_TIME) : -1;
	if (stats && stats_fd < 0)
		fprintf(stderr, "capsule-kernel-tracer: cannot enable run-time stats: %s\n", strerror(errno));
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_record, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "capsule-kernel-tracer: cannot map the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	__u32 load_us = (mono_ns(CLOCK_MONOTONIC) - t_start) / 1000;
	if (then && accept_parent(lfd, parent) < 0)
		return 1;

	/* attached, nothing traced yet: the policy (unless given) and the root, one line each on stdin */
	if (!policy) {
		const char *p = read_line();
		if (!p)
			return usage("no policy on stdin");
		if (set_policy(pfd, p))
			return usage("bad policy entry on stdin");
	}
	const char *line = read_line();
	__u32 root = line ? strtoul(line, NULL, 10) : 0;
	if (root == 0)
		return usage("no root pid on stdin");
	__u8 held = 1;
	skel->bss->live = 1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.traced), &root, &held, BPF_ANY)) {
		fprintf(stderr, "capsule-kernel-tracer: cannot arm pid %u: %s\n", root, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fcntl(1, F_SETPIPE_SZ, 1 << 20);

	int ncpu = libbpf_num_possible_cpus();
	struct rec_start st;
	header(&st.h, REC_START, sizeof(st));
	st.version = REC_VERSION;
	st.root = root;
	st.mono_to_epoch_ns = (__s64)(mono_ns(CLOCK_REALTIME) - mono_ns(CLOCK_MONOTONIC));
	st.ncpu = ncpu;
	st.load_us = load_us;
	put(&st, sizeof(st));
	flush_out();

	while (!out_broken) {
		ring_buffer__poll(rb, poll_ms);
		ring_buffer__consume(rb);
		report_losses(skel, ncpu);
		flush_out();
		if (stop_requested || __atomic_load_n(&skel->bss->live, __ATOMIC_SEQ_CST) <= 0)
			break;
	}
	/* what every CPU wrote before the last exit */
	ring_buffer__consume(rb);
	report_losses(skel, ncpu);
	struct rec_hdr end;
	header(&end, REC_END, sizeof(end));
	put(&end, sizeof(end));
	flush_out();
	/* the reader sees the end now; detaching (an RCU grace period per program) may take a while */
	close(1);
	if (stats_fd >= 0)
		print_stats(skel);
	ring_buffer__free(rb);
	capsule_tracer_bpf__destroy(skel);
	return out_broken ? 1 : 0;
}

/* the offsets src/parse/kernel/layout.ts reads */
_Static_assert(sizeof(struct rec_hdr) == 24, "rec_hdr");
_Static_assert(sizeof(struct rec_syscall) == 256, "rec_syscall");
_Static_assert(__builtin_offsetof(struct rec_syscall, sock) == 184, "rec_syscall.sock");
_Static_assert(__builtin_offsetof(struct rec_syscall, io) == 232, "rec_syscall.io");
_Static_assert(sizeof(struct rec_exec) == 152, "rec_exec");
_Static_assert(__builtin_offsetof(struct rec_exec, argc) == 128, "rec_exec.argc");
_Static_assert(__builtin_offsetof(struct rec_syscall, data_len) == 180, "rec_syscall.data_len");
_Static_assert(sizeof(struct policy) == 8, "policy");
_Static_assert(sizeof(struct rec_exit) == 32, "rec_exit");
_Static_assert(sizeof(struct rec_io) == 56, "rec_io");
_Static_assert(sizeof(struct rec_signal) == 40, "rec_signal");
_Static_assert(sizeof(struct rec_start) == 48, "rec_start");
_Static_assert(sizeof(struct rec_lost) == 40, "rec_lost");

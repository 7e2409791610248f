// SPDX-License-Identifier: GPL-2.0
/*
 * Capsule's kernel tracer: follows one process tree from tracepoints only (raw_syscalls
 * sys_enter/sys_exit, sched_process_fork/exec/exit, signal_deliver) and writes fixed-size
 * binary records (records.h) to one ring buffer. Outside the traced tree a syscall costs
 * one hash look-up. Which calls are recorded, and how, comes from the `policy` map the
 * loader fills for the level.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_NR 1024
#define SCRATCH (1 << 15)
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define EPERM 1
#define EACCES 13
#define EINVAL 22
/* `x & mask`, computed after the compiler has forgotten how x was clamped (the verifier needs the mask) */
#define BOUND(x, mask) ({ barrier_var(x); (x) & (mask); })

/* Set by the loader before load. */
const volatile __u32 sum_io = 0; /* level files: read/write family summed per fd */
const volatile __u32 refusals = 0; /* run --enforce: every EPERM/EACCES is recorded, whatever the level */

/* Traced processes by tgid: 1 held (armed at its first exec), 2 traced. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* written at fork and exit only */
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* A call in progress, by tid: what sys_enter saw. */
struct stash {
	__u64 ts;
	__u64 args[6];
	__u64 len_before;
	__u32 nr;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* preallocated: written at every traced call */
	__type(key, __u32);
	__type(value, struct stash);
} stash SEC(".maps");

/* argv[0] of an exec in progress, by tid: a #! script's is gone from the new mm */
struct argv0 {
	char s[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct argv0);
} argv0s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_NR);
	__type(key, __u32);
	__type(value, struct policy);
} policy SEC(".maps");

struct io_key {
	__u32 tgid;
	__s32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct io_key);
	__type(value, struct io_sums);
} io SEC(".maps");

/* Which fds of a process have sums in `io`, so that an exec or the process's end flushes
 * its own entries instead of walking every bucket of `io` (65,536 of them: ~1.3 ms per
 * exec and per exit, most of a build's tracing cost). Fds from FDSET_FDS up are only
 * counted; a process with any of them flushes by walking `io`. */
#define FDSET_FDS 1024
#define FDSET_WORDS (FDSET_FDS / 64)
struct fdset {
	__u64 bits[FDSET_WORDS];
	__u64 high;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct fdset);
} io_fds SEC(".maps");

/* Sockets a traced process connected to port 53, by (tgid, fd): a read on one is a DNS
 * answer. LRU: a process that ends without closing them leaves nothing for long. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct io_key);
	__type(value, __u8);
} dns_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* the loader may resize */
} rb SEC(".maps");

struct buf {
	__u8 d[SCRATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct buf);
} scratch SEC(".maps");

/* Read by the loader through the mmaped BSS. */
__u64 lost[256];     /* records the ring buffer could not take, per CPU */
__s64 live = 0;      /* traced processes alive */
__u32 dns_seen = 0;  /* a traced socket was connected to port 53: until then no read looks at dns_fds */

static __always_inline struct buf *scratch_buf(void)
{
	__u32 z = 0;
	return bpf_map_lookup_elem(&scratch, &z);
}

static __always_inline void emit(void *p, __u32 size, __u64 flags)
{
	/* every offset stays below SCRATCH: the mask is the bound the verifier needs */
	size = (size + 7) & (SCRATCH - 8);
	if (size < sizeof(struct rec_hdr))
		return;
	((struct rec_hdr *)p)->size = size;
	if (bpf_ringbuf_output(&rb, p, size, flags) != 0) {
		__u32 c = bpf_get_smp_processor_id() & 255;
		__sync_fetch_and_add(&lost[c], 1);
	}
}

static __always_inline void header(struct rec_hdr *h, __u16 type, __u32 tid, __u32 tgid, __u64 ts)
{
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->tid = tid;
	h->tgid = tgid;
	h->ts = ts;
}

static __always_inline __u8 *traced_state(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid);
}

/* The six argument words of the current syscall, from its saved user registers. */
static __always_inline void read_args(struct pt_regs *regs, __u64 args[6])
{
	args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
#if defined(__TARGET_ARCH_x86)
	args[5] = BPF_CORE_READ(regs, r9);
#elif defined(__TARGET_ARCH_arm64)
	args[5] = BPF_CORE_READ((struct user_pt_regs *)regs, regs[5]);
#endif
}

/* ─────────────────────────── sys_enter ─────────────────────────── */

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u8 *st = traced_state(pt >> 32);
	if (!st)
		return 0;
	__u32 nr = id;
	if (nr >= MAX_NR)
		return 0;
	struct policy *p = bpf_map_lookup_elem(&policy, &nr);
	if (!p || !p->record)
		return 0;
	if (*st != 2 && p->kind != K_EXEC)
		return 0;
	struct stash s = {};
	s.ts = bpf_ktime_get_ns();
	s.nr = nr;
	read_args(regs, s.args);
	if (p->kind == K_PEER && s.args[2]) {
		int len = 0;
		bpf_probe_read_user(&len, sizeof(len), (void *)s.args[2]);
		s.len_before = len;
	}
	__u32 tid = pt;
	bpf_map_update_elem(&stash, &tid, &s, BPF_ANY);
	if (p->kind == K_EXEC) {
		/* argv[0] only: small, and the pointer array is usually paged in */
		__u64 argv = p->str_a == 2 ? s.args[2] : s.args[1];
		__u64 a0 = 0;
		struct argv0 *v;
		if (argv && bpf_probe_read_user(&a0, sizeof(a0), (void *)argv) == 0 && a0) {
			struct argv0 z = {};
			bpf_map_update_elem(&argv0s, &tid, &z, BPF_ANY);
			v = bpf_map_lookup_elem(&argv0s, &tid);
			if (v)
				bpf_probe_read_user_str(v->s, sizeof(v->s), (void *)a0);
		}
	}
	return 0;
}

/* ─────────────────────────── helpers ─────────────────────────── */

/* Read a user string at `off` of the tail; returns its length with the NUL (0 when none). */
static __always_inline __u32 user_str(struct buf *b, __u32 off, __u64 ptr, __u32 *flags, __u32 cut)
{
	if (!ptr)
		return 0;
	off &= 0x3fff;
	long n = bpf_probe_read_user_str(&b->d[off], STR_MAX, (void *)ptr);
	if (n <= 0)
		return 0;
	if (n >= STR_MAX)
		*flags |= cut;
	return n;
}

/* The socket behind `fd` of the current task, its endpoints into `e`. */
static __always_inline int sock_of(struct sock_ends *e, int fd)
{
	if (fd < 0)
		return 0;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt)
		return 0;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	struct file **arr = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	if (!f)
		return 0;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *so = BPF_CORE_READ(f, private_data);
	if (!so)
		return 0;
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return 0;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->laddr, &l, 4);
		__builtin_memcpy(e->raddr, &r, 4);
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_v6_daddr);
	}
	return 1;
}

/* The inode number of `fd` of the current task (0: none): a pipe's or a socket's name, `pipe:[ino]`. */
static __always_inline __u64 fd_ino(int fd)
{
	if (fd < 0)
		return 0;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **arr = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
}

/* A user sockaddr (at most 32 bytes) into ext[0..3]; a unix path's bytes into the tail as str0. */
static __always_inline void user_sockaddr(struct rec_syscall *r, struct buf *b, __u32 *off, __u64 ptr, int len)
{
	if (!ptr || len <= 0)
		return;
	__u32 n = len > 32 ? 32 : len;
	bpf_probe_read_user(&r->ext[0], BOUND(n, 63), (void *)ptr);
	r->flags |= F_EXT;
	__u16 fam = (__u16)r->ext[0];
	if (fam == AF_UNIX && len > 2) {
		__u32 m = len - 2;
		if (m > 108)
			m = 108;
		__u32 o = *off & 0x3fff;
		if (bpf_probe_read_user(&b->d[o], BOUND(m, 127), (void *)(ptr + 2)) == 0) {
			r->len0 = m;
			*off += m;
		}
	}
}

/* ─────────────────────────── DNS answers ─────────────────────────── */

#define DNS_PORT 53

/* The port (host order) of an AF_INET/AF_INET6 user sockaddr; 0 for anything else. */
static __always_inline __u16 user_port(__u64 ptr)
{
	__u16 fp[2] = {};
	if (!ptr || bpf_probe_read_user(fp, sizeof(fp), (void *)ptr) != 0)
		return 0;
	if (fp[0] != AF_INET && fp[0] != AF_INET6)
		return 0;
	return __builtin_bswap16(fp[1]);
}

/*
 * Whether a receive (policy data mode `mode`) that returned `ret` came from port 53: by the
 * source address it filled (recvfrom, recvmsg, recvmmsg), else by its fd being one a
 * connect to port 53 marked. Returns where its bytes are (0: not DNS) and how many in `len`.
 * A program that never connected to port 53 costs a read nothing here (dns_seen).
 */
__noinline __u64 dns_bytes(__u8 mode, const struct stash *s, long ret, __u32 tgid, __u32 *len)
{
	/* a global function: verified once, on its own, and its result is one unknown number to
	 * the caller (inlined, its paths multiplied sys_exit's: ~100 ms more to load) */
	if (!s || !len)
		return 0;
	__u64 bufp = s->args[1];
	__u64 name = 0;
	__u64 n = ret;
	if (mode == D_FROM) {
		name = s->args[4];
	} else if (mode == D_MSG || mode == D_MMSG) {
		/* struct msghdr: msg_name, msg_namelen, msg_iov, msg_iovlen; the first iovec */
		__u64 hdr[4] = {};
		__u64 iov[2] = {};
		if (bpf_probe_read_user(hdr, sizeof(hdr), (void *)s->args[1]) != 0 || !hdr[2] || !hdr[3])
			return 0;
		if (bpf_probe_read_user(iov, sizeof(iov), (void *)hdr[2]) != 0)
			return 0;
		name = hdr[0];
		bufp = iov[0];
		if (mode == D_MMSG) {
			/* ret counts messages: the first one's length follows its msghdr (56 bytes) */
			__u32 ml = 0;
			if (bpf_probe_read_user(&ml, sizeof(ml), (void *)(s->args[1] + 56)) != 0)
				return 0;
			n = ml;
		}
		if (n > iov[1])
			n = iov[1];
	}
	if (name) {
		if (user_port(name) != DNS_PORT)
			return 0;
	} else {
		if (!dns_seen)
			return 0;
		struct io_key k = {.tgid = tgid, .fd = (int)s->args[0]};
		if (!bpf_map_lookup_elem(&dns_fds, &k))
			return 0;
	}
	*len = n > DATA_MAX ? DATA_MAX : n;
	return bufp;
}

/* ─────────────────────────── sys_exit ─────────────────────────── */

/* Marks (on) or clears (off) fd in its process's fdset. */
static __always_inline void fdset_mark(__u32 tgid, int fd, int on)
{
	struct fdset *fs = bpf_map_lookup_elem(&io_fds, &tgid);
	if (!fs) {
		if (!on)
			return;
		struct fdset z = {};
		bpf_map_update_elem(&io_fds, &tgid, &z, BPF_NOEXIST);
		fs = bpf_map_lookup_elem(&io_fds, &tgid);
		if (!fs)
			return;
	}
	if (fd < 0 || fd >= FDSET_FDS) {
		__sync_fetch_and_add(&fs->high, on ? 1 : -1);
		return;
	}
	__u64 bit = 1ULL << (fd & 63);
	if (on)
		__sync_fetch_and_or(&fs->bits[(fd >> 6) & (FDSET_WORDS - 1)], bit);
	else
		__sync_fetch_and_and(&fs->bits[(fd >> 6) & (FDSET_WORDS - 1)], ~bit);
}

/* Argument word i (1-based, as the policy's str_a/str_b name them); -1 (no fd) out of range. */
static __always_inline __u64 arg_at(const __u64 *args, __u8 i)
{
	switch (i) {
	case 1: return args[0];
	case 2: return args[1];
	case 3: return args[2];
	case 4: return args[3];
	case 5: return args[4];
	case 6: return args[5];
	}
	return (__u64)-1;
}

static __always_inline void sum(__u32 tgid, int fd, long ret, int write)
{
	struct io_key k = {.tgid = tgid, .fd = fd};
	struct io_sums *v = bpf_map_lookup_elem(&io, &k);
	if (!v) {
		struct io_sums z = {};
		if (bpf_map_update_elem(&io, &k, &z, BPF_NOEXIST) == 0)
			fdset_mark(tgid, fd, 1);
		v = bpf_map_lookup_elem(&io, &k);
		if (!v)
			return;
	}
	if (write) {
		__sync_fetch_and_add(&v->wbytes, ret);
		__sync_fetch_and_add(&v->wcalls, 1);
	} else {
		__sync_fetch_and_add(&v->rbytes, ret);
		__sync_fetch_and_add(&v->rcalls, 1);
	}
}

/* A failed exec's argv (the old program's memory is still there), NUL-separated: one bpf_loop step per string. */
struct argv_walk {
	__u64 argv;
	__u32 off;
	__u32 used;
	__u32 argc;
	__u32 cut;
};

static long argv_step(__u32 i, struct argv_walk *w)
{
	__u64 p = 0;
	if (bpf_probe_read_user(&p, sizeof(p), (void *)(w->argv + i * 8)) != 0 || !p)
		return 1;
	if (w->used > ARGV_MAX - STR_MAX || i >= 64) {
		w->cut = 1;
		return 1;
	}
	struct buf *b = scratch_buf();
	if (!b)
		return 1;
	__u32 o = (w->off + w->used) & 0x3fff;
	long n = bpf_probe_read_user_str(&b->d[o], STR_MAX, (void *)p);
	if (n <= 0)
		return 1;
	if (n >= STR_MAX)
		w->cut = 1;
	w->used += n;
	w->argc++;
	return 0;
}

static __always_inline void user_argv(struct rec_syscall *r, __u32 off, __u64 argv)
{
	if (!argv)
		return;
	struct argv_walk w = {.argv = argv, .off = off};
	bpf_loop(65, argv_step, &w, 0);
	r->argv_len = w.used;
	r->argc = w.argc;
	if (w.cut)
		r->flags |= F_ARGV_CUT;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = pt;
	__u32 tgid = pt >> 32;
	struct stash *sp = bpf_map_lookup_elem(&stash, &tid);
	struct stash s = {};
	struct policy none = {.kind = K_PLAIN};
	struct policy *p;
	if (sp) {
		s = *sp;
		bpf_map_delete_elem(&stash, &tid);
		p = bpf_map_lookup_elem(&policy, &s.nr);
		if (!p)
			return 0;
	} else {
		/*
		 * A refusal the level does not record, or one seccomp gave before sys_enter ran (a
		 * filter's SECCOMP_RET_ERRNO skips the entry tracepoint): the registers still hold
		 * the call's number and arguments, and its strings are still in user memory.
		 */
		if (!refusals || (ret != -EPERM && ret != -EACCES))
			return 0;
		__u8 *st = traced_state(tgid);
		if (!st || *st != 2)
			return 0;
#if defined(__TARGET_ARCH_x86)
		s.nr = BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
		s.nr = BPF_CORE_READ(regs, syscallno);
#endif
		if (s.nr >= MAX_NR)
			return 0;
		s.ts = bpf_ktime_get_ns();
		read_args(regs, s.args);
		p = bpf_map_lookup_elem(&policy, &s.nr);
		/* a call the level does not record: its number, result and six words */
		if (!p || !p->record)
			p = &none;
	}
	__u32 nr = s.nr;
	__u8 kind = p->kind;
	if (kind == K_EXEC) {
		/* a success is written at sched_process_exec; a held root's attempts are not traced */
		__u8 *st = traced_state(tgid);
		if (ret == 0 || !st || *st != 2)
			return 0;
	}
	if (kind == K_FORK && ret >= 0)
		return 0; /* written at sched_process_fork */
	/* a DNS answer is recorded whatever the level, its bytes kept (not summed at files) */
	__u32 dns_len = 0;
	/* a read (no source address) looks only once something connected to port 53: a build
	 * that resolves nothing pays one flag test per read */
	__u8 dmode = p->data;
	__u64 dns_at = dmode && ret > 0 && (dmode != D_BUF || dns_seen) ? dns_bytes(dmode, &s, ret, tgid, &dns_len) : 0;
	if ((kind == K_IO_READ || kind == K_IO_WRITE) && sum_io && !dns_at) {
		if (ret > 0)
			sum(tgid, (int)s.args[0], ret, kind == K_IO_WRITE);
		if (!refusals || (ret != -EPERM && ret != -EACCES))
			return 0;
	}
	if (kind == K_IO_COPY && sum_io) {
		/* the bytes moved were read from one fd and written to the other */
		int in = (int)arg_at(s.args, p->str_a), out = (int)arg_at(s.args, p->str_b);
		if (ret > 0 && in >= 0 && out >= 0) {
			sum(tgid, in, ret, 0);
			sum(tgid, out, ret, 1);
		}
		if (!refusals || (ret != -EPERM && ret != -EACCES))
			return 0;
	}
	if (kind == K_READLINK && ret == -EINVAL)
		return 0;
	if (kind == K_FCNTL_DUP && s.args[1] != 0 && s.args[1] != 1030)
		return 0;
	/* level files (sum_io): a non-blocking connect's outcome, getsockopt(SOL_SOCKET, SO_ERROR), only */
	int so_error = kind == K_SO_ERROR && (int)s.args[1] == 1 /* SOL_SOCKET */ && (int)s.args[2] == 4 /* SO_ERROR */;
	if (kind == K_SO_ERROR && !so_error && sum_io)
		return 0;

	struct buf *b = scratch_buf();
	if (!b)
		return 0;
	struct rec_syscall *r = (struct rec_syscall *)b->d;
	__builtin_memset(r, 0, sizeof(*r));
	__u64 now = bpf_ktime_get_ns();
	header(&r->h, REC_SYSCALL, tid, tgid, s.ts);
	r->nr = nr;
	r->ret = ret;
	r->dur_ns = now - s.ts;
	for (int i = 0; i < 6; i++)
		r->args[i] = s.args[i];
	__u32 off = sizeof(*r);

	if (kind == K_SOCKADDR) {
		user_sockaddr(r, b, &off, s.args[1], (int)s.args[2]);
		if (ret == 0 || ret == -115 /* EINPROGRESS */) {
			if (sock_of(&r->sock, (int)s.args[0]))
				r->flags |= F_SOCK;
			/* a socket connected to port 53: what it reads is a DNS answer */
			__u16 fam = (__u16)r->ext[0];
			if ((fam == AF_INET || fam == AF_INET6) && __builtin_bswap16((__u16)(r->ext[0] >> 16)) == DNS_PORT) {
				struct io_key k = {.tgid = tgid, .fd = (int)s.args[0]};
				__u8 one = 1;
				bpf_map_update_elem(&dns_fds, &k, &one, BPF_ANY);
				dns_seen = 1;
			}
		}
	} else if (kind == K_PEER) {
		r->ext[4] = s.len_before;
		if (ret >= 0) {
			int after = 0;
			if (s.args[2])
				bpf_probe_read_user(&after, sizeof(after), (void *)s.args[2]);
			r->ext[5] = after;
			int len = after < (int)s.len_before ? after : (int)s.len_before;
			user_sockaddr(r, b, &off, s.args[1], len);
			if (sock_of(&r->sock, (int)ret))
				r->flags |= F_SOCK;
		}
		r->flags |= F_EXT;
	} else if (kind == K_FD_PAIR) {
		int fds[2] = {-1, -1};
		__u64 at = arg_at(s.args, p->str_a);
		if (ret == 0 && bpf_probe_read_user(fds, sizeof(fds), (void *)at) == 0) {
			r->ext[0] = (__u32)fds[0];
			r->ext[1] = (__u32)fds[1];
			r->ext[2] = fd_ino(fds[0]);
			r->ext[3] = fd_ino(fds[1]);
			r->flags |= F_EXT;
		}
	} else if (kind == K_SO_ERROR) {
		if (so_error && ret == 0 && s.args[3]) {
			int v = 0;
			if (bpf_probe_read_user(&v, sizeof(v), (void *)s.args[3]) == 0) {
				r->ext[0] = (__u32)v;
				r->flags |= F_EXT;
			}
		}
	} else if (kind == K_HOW) {
		if (s.args[2]) {
			bpf_probe_read_user(&r->ext[0], 24, (void *)s.args[2]);
			r->flags |= F_EXT;
		}
		r->len0 = user_str(b, off, s.args[1], &r->flags, F_STR0_CUT);
		off += r->len0;
	} else if (kind == K_FORK) {
		/* a failed clone3: its clone_args */
		if (p->str_a == 0 && s.args[0] && nr == 435) {
			bpf_probe_read_user(&r->ext[0], 72, (void *)s.args[0]);
			r->flags |= F_EXT;
		}
	} else if (kind == K_EXEC) {
		__u8 a = p->str_a;
		__u64 fn = a == 2 ? s.args[1] : s.args[0];
		r->len0 = user_str(b, off, fn, &r->flags, F_STR0_CUT);
		off += r->len0;
		user_argv(r, off, a == 2 ? s.args[2] : s.args[1]);
		off += r->argv_len;
		r->envc = 0xffffffff;
	} else if (kind == K_READLINK) {
		__u8 a = p->str_a;
		r->len0 = user_str(b, off, a == 2 ? s.args[1] : s.args[0], &r->flags, F_STR0_CUT);
		off += r->len0;
		if (ret > 0) {
			__u64 bufp = a == 2 ? s.args[2] : s.args[1];
			__u32 n = ret >= STR_MAX ? STR_MAX - 1 : ret;
			__u32 o = off & 0x3fff;
			if (bpf_probe_read_user(&b->d[o], BOUND(n, STR_MAX - 1), (void *)bufp) == 0) {
				b->d[(o + (n & (STR_MAX - 1))) & (SCRATCH - 1)] = 0;
				r->len1 = n + 1;
				off += n + 1;
			}
		}
	} else {
		if (p->str_a) {
			__u8 i = (p->str_a - 1) & 7;
			r->len0 = user_str(b, off, i < 6 ? s.args[i] : 0, &r->flags, F_STR0_CUT);
			off += r->len0;
		}
		if (p->str_b) {
			__u8 i = (p->str_b - 1) & 7;
			r->len1 = user_str(b, off, i < 6 ? s.args[i] : 0, &r->flags, F_STR1_CUT);
			off += r->len1;
		}
		/* dup2/dup3 onto an open fd close it first: its sums end there, not with
		 * whatever file the number names later (`echo hi > f` in a shell restores stdout so) */
		int replaced = kind == K_DUP2 && ret >= 0 && s.args[0] != s.args[1];
		if ((kind == K_CLOSE || replaced) && dns_seen) {
			struct io_key k = {.tgid = tgid, .fd = (int)s.args[kind == K_CLOSE ? 0 : 1]};
			bpf_map_delete_elem(&dns_fds, &k);
		}
		if ((kind == K_CLOSE || replaced) && sum_io) {
			struct io_key k = {.tgid = tgid, .fd = (int)s.args[kind == K_CLOSE ? 0 : 1]};
			struct io_sums *v = bpf_map_lookup_elem(&io, &k);
			if (v) {
				r->io = *v;
				r->flags |= F_IO;
				if (bpf_map_delete_elem(&io, &k) == 0)
					fdset_mark(tgid, k.fd, 0);
			}
		}
	}
	if (dns_at) {
		__u32 o = off & 0x3fff;
		__u32 n = dns_len;
		if (bpf_probe_read_user(&b->d[o], BOUND(n, 1023), (void *)dns_at) == 0) {
			r->data_len = n & 1023;
			off += n & 1023;
			r->flags |= F_DATA;
		}
		if (!(r->flags & F_SOCK) && sock_of(&r->sock, (int)s.args[0]))
			r->flags |= F_SOCK;
	}
	r->h.size = off;
	emit(r, off, BPF_RB_NO_WAKEUP);
	return 0;
}

/* ─────────────────────────── processes ─────────────────────────── */

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u8 *st = traced_state(ptgid);
	if (!st || *st != 2)
		return 0;
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	if (ctgid != ptgid) {
		__u8 v = 2;
		if (bpf_map_update_elem(&traced, &ctgid, &v, BPF_NOEXIST) == 0)
			__sync_fetch_and_add(&live, 1);
	}
	/* the parent's clone, written before the child can run */
	__u32 ptid = BPF_CORE_READ(parent, pid);
	struct stash *sp = bpf_map_lookup_elem(&stash, &ptid);
	if (!sp)
		return 0;
	struct stash s = *sp;
	bpf_map_delete_elem(&stash, &ptid);
	struct buf *b = scratch_buf();
	if (!b)
		return 0;
	struct rec_syscall *r = (struct rec_syscall *)b->d;
	__builtin_memset(r, 0, sizeof(*r));
	header(&r->h, REC_SYSCALL, ptid, ptgid, s.ts);
	r->nr = s.nr;
	r->ret = cpid;
	r->dur_ns = bpf_ktime_get_ns() - s.ts;
	for (int i = 0; i < 6; i++)
		r->args[i] = s.args[i];
	if (s.nr == 435 && s.args[0]) {
		bpf_probe_read_user(&r->ext[0], 72, (void *)s.args[0]);
		r->flags |= F_EXT;
	}
	r->h.size = sizeof(*r);
	emit(r, sizeof(*r), BPF_RB_NO_WAKEUP);
	return 0;
}

/* The cwd walk, one path component per bpf_loop step (verified once, not unrolled). */
struct cwd_walk {
	struct dentry *d;
	struct vfsmount *vm;
	struct mount *m;
	__u32 base;
	__u32 used;
	__u32 cut;
};

static long cwd_step(__u32 i, struct cwd_walk *w)
{
	/* locals: CO-RE reads must start from kernel pointers, not from fields of this struct */
	struct dentry *d = w->d;
	struct vfsmount *vm = w->vm;
	struct mount *m = w->m;
	struct dentry *mroot = BPF_CORE_READ(vm, mnt_root);
	if (d == mroot) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (mp == m)
			return 1;
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		w->vm = &mp->mnt;
		return 0;
	}
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1;
	if (w->used > CWD_MAX - 256) {
		w->cut = 1;
		return 1;
	}
	struct buf *b = scratch_buf();
	if (!b)
		return 1;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 o = (w->base + w->used) & 0x3fff;
	long n = bpf_probe_read_kernel_str(&b->d[o], 256, name);
	if (n <= 0)
		return 1;
	w->used += n;
	w->d = parent;
	if (i == CWD_DEPTH * 2 - 1)
		w->cut = 1;
	return 0;
}

/* cwd as path components, leaf first, each NUL-terminated at `base`; returns the bytes written. */
static __always_inline __u32 cwd_of(struct task_struct *t, __u32 base, __u32 *flags)
{
	struct path pwd;
	BPF_CORE_READ_INTO(&pwd, t, fs, pwd);
	struct cwd_walk w = {.d = pwd.dentry, .vm = pwd.mnt, .base = base};
	w.m = container_of(pwd.mnt, struct mount, mnt);
	bpf_loop(CWD_DEPTH * 2, cwd_step, &w, 0);
	if (w.cut)
		*flags |= F_CWD_CUT;
	return w.used;
}

struct flush_ctx {
	__u32 tgid;
	__u32 tid;
	__u64 ts;
	__u64 bits[FDSET_WORDS];
};

static __always_inline void flush_sums(struct io_key *k, struct io_sums *v, struct flush_ctx *fc)
{
	struct rec_io r = {};
	header(&r.h, REC_IO, fc->tid, fc->tgid, fc->ts);
	r.h.size = sizeof(r);
	r.fd = k->fd;
	r.io = *v;
	if (bpf_ringbuf_output(&rb, &r, sizeof(r), BPF_RB_NO_WAKEUP) != 0) {
		__u32 c = bpf_get_smp_processor_id() & 255;
		__sync_fetch_and_add(&lost[c], 1);
	}
}

/* bpf_for_each_map_elem over all of `io`: only for a process with fds >= FDSET_FDS */
static long flush_one(struct bpf_map *map, struct io_key *k, struct io_sums *v, struct flush_ctx *fc)
{
	if (k->tgid != fc->tgid)
		return 0;
	flush_sums(k, v, fc);
	bpf_map_delete_elem(map, k);
	return 0;
}

/* One bpf_loop step per fd of the fdset's used words (the callback is verified once; a
 * loop over a word's 64 bits inside it made the verifier walk 64 copies of the flush:
 * ~150 ms more to load): a set bit's sums are written and removed. */
static long flush_bit(__u32 i, struct flush_ctx *fc)
{
	if (!((fc->bits[(i >> 6) & (FDSET_WORDS - 1)] >> (i & 63)) & 1))
		return 0;
	struct io_key k = {.tgid = fc->tgid, .fd = (int)i};
	struct io_sums *v = bpf_map_lookup_elem(&io, &k);
	if (!v)
		return 0;
	flush_sums(&k, v, fc);
	bpf_map_delete_elem(&io, &k);
	return 0;
}

/* Writes and removes every sum of fc->tgid, then its fdset. */
static __always_inline void flush_process(struct flush_ctx *fc)
{
	struct fdset *fs = bpf_map_lookup_elem(&io_fds, &fc->tgid);
	if (!fs)
		return;
	if (fs->high) {
		bpf_for_each_map_elem(&io, flush_one, fc, 0);
	} else {
		__builtin_memcpy(fc->bits, fs->bits, sizeof(fc->bits));
		__u32 words = 0;
		for (int w = 0; w < FDSET_WORDS; w++)
			if (fc->bits[w])
				words = w + 1;
		bpf_loop(words * 64, flush_bit, fc, 0);
	}
	bpf_map_delete_elem(&io_fds, &fc->tgid);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32;
	__u8 *st = traced_state(tgid);
	if (!st)
		return 0;
	if (*st != 2)
		*st = 2; /* the held root runs its program: tracing starts here */
	struct buf *b = scratch_buf();
	if (!b)
		return 0;
	struct rec_exec *r = (struct rec_exec *)b->d;
	__builtin_memset(r, 0, sizeof(*r));
	__u64 now = bpf_ktime_get_ns();
	if (sum_io) {
		/* the old program's sums end here: its close-on-exec fds are gone, and a number the
		 * new program opens again must not add to them (the fds kept start new sums) */
		struct flush_ctx fc = {.tgid = tgid, .tid = (__u32)pt, .ts = now};
		flush_process(&fc);
	}
	header(&r->h, REC_EXEC, (__u32)pt, tgid, now);
	r->old_tid = old_pid;
	r->ppid = BPF_CORE_READ(p, real_parent, tgid);
	const struct cred *c = BPF_CORE_READ(p, real_cred);
	r->uid = BPF_CORE_READ(c, uid.val);
	r->gid = BPF_CORE_READ(c, gid.val);
	r->euid = BPF_CORE_READ(c, euid.val);
	r->egid = BPF_CORE_READ(c, egid.val);
	bpf_core_read(&r->caps, sizeof(r->caps), &c->cap_effective);
	struct file *f = BPF_CORE_READ(bprm, file);
	r->ino = BPF_CORE_READ(f, f_inode, i_ino);
	r->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	r->argc = BPF_CORE_READ(bprm, argc);
	r->envc = BPF_CORE_READ(bprm, envc);
	__u32 old = old_pid;
	struct stash *sp = bpf_map_lookup_elem(&stash, &old);
	if (sp) {
		r->nr = sp->nr;
		r->enter_ts = sp->ts;
		for (int i = 0; i < 6; i++)
			r->args[i] = sp->args[i];
		bpf_map_delete_elem(&stash, &old);
	}
	__u32 off = sizeof(*r);
	const char *fn = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(&b->d[off], STR_MAX, fn);
	if (n > 0) {
		r->len0 = n;
		off += n;
	}
	struct mm_struct *mm = BPF_CORE_READ(p, mm);
	__u64 as = BPF_CORE_READ(mm, arg_start);
	__u64 ae = BPF_CORE_READ(mm, arg_end);
	__u64 len = ae > as ? ae - as : 0;
	if (len > ARGV_MAX) {
		len = ARGV_MAX;
		r->flags |= F_ARGV_CUT;
	}
	__u32 o = off & 0x3fff;
	if (len > 0 && bpf_probe_read_user(&b->d[o], BOUND(len, ARGV_MAX * 2 - 1), (void *)as) == 0) {
		r->argv_len = len;
		off += len;
	}
	r->cwd_len = cwd_of(p, off, &r->flags);
	off += r->cwd_len;
	if (BPF_CORE_READ(bprm, interp) != fn)
		r->flags |= F_SCRIPT;
	struct argv0 *a0 = bpf_map_lookup_elem(&argv0s, &old);
	if (a0) {
		__u32 o2 = off & 0x3fff;
		long m = bpf_probe_read_kernel_str(&b->d[o2], sizeof(a0->s), a0->s);
		if (m > 0) {
			r->argv0_len = m;
			off += m;
		}
		bpf_map_delete_elem(&argv0s, &old);
	}
	r->h.size = off;
	/* no wake-up: the loader drains every poll interval (a forced wake-up is an interrupt
	 * to self, ~18 µs of the traced task's time per exec on a VM; bench/README.md) */
	emit(r, off, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_task_exit, struct task_struct *p)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = pt;
	__u32 tgid = pt >> 32;
	__u8 *st = traced_state(tgid);
	if (!st)
		return 0;
	bpf_map_delete_elem(&stash, &tid);
	bpf_map_delete_elem(&argv0s, &tid);
	/* the last thread out ends the process; two threads exiting at once may both see
	 * live == 0, only the one that removes the process from `traced` is its end */
	int group_dead = BPF_CORE_READ(p, signal, live.counter) == 0 && bpf_map_delete_elem(&traced, &tgid) == 0;
	/* the tree's last process wakes the loader, which then ends at once; other exits wait
	 * for its next poll (a forced wake-up costs the exiting task ~18 µs on a VM) */
	int last = 0;
	if (group_dead)
		last = __sync_fetch_and_add(&live, -1) <= 1;
	__u64 now = bpf_ktime_get_ns();
	/* io_uring workers (iou-wrk) join a traced process without a clone call: strace never
	 * shows them, and an exit of a thread nobody saw start would be a tree root of its own */
	int io_worker = (BPF_CORE_READ(p, flags) & 0x10 /* PF_IO_WORKER */) != 0;
	if (*st == 2 && group_dead && sum_io) {
		struct flush_ctx fc = {.tgid = tgid, .tid = tid, .ts = now};
		flush_process(&fc);
	}
	if (*st == 2 && !io_worker) {
		struct rec_exit r = {};
		header(&r.h, REC_EXIT, tid, tgid, now);
		r.h.size = sizeof(r);
		r.code = BPF_CORE_READ(p, exit_code);
		r.group_dead = group_dead;
		emit(&r, sizeof(r), last ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	}
	return 0;
}

SEC("raw_tp/signal_generate")
int BPF_PROG(on_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	/* delivered (TRACE_SIGNAL_DELIVERED) or ignored (TRACE_SIGNAL_IGNORED: the default SIGCHLD,
	 * SIGCONT, SIGWINCH, SIGURG, or SIG_IGN), which strace shows too: a traced task is never
	 * spared a signal, so ptrace reports it; a coalesced or lost one is no new signal */
	if (result != 0 && result != 1)
		return 0;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u8 *st = traced_state(tgid);
	if (!st || *st != 2)
		return 0;
	struct rec_signal r = {};
	header(&r.h, REC_SIGNAL, BPF_CORE_READ(task, pid), tgid, bpf_ktime_get_ns());
	r.h.size = sizeof(r);
	r.sig = sig;
	/* SEND_SIG_NOINFO (0), SEND_SIG_PRIV (1): no siginfo */
	if ((__u64)info > 1) {
		r.code = BPF_CORE_READ(info, si_code);
		r.sender_pid = BPF_CORE_READ(info, _sifields._kill._pid);
		r.sender_uid = BPF_CORE_READ(info, _sifields._kill._uid);
	} else {
		r.code = (__u64)info == 1 ? 0x80 /* SI_KERNEL */ : 0 /* SI_USER */;
		r.sender_pid = bpf_get_current_pid_tgid() >> 32;
	}
	emit(&r, sizeof(r), BPF_RB_NO_WAKEUP);
	return 0;
}

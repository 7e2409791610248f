/*
 * capsule-confine: apply a Capsule profile's Landlock rules and seccomp filter to itself,
 * then exec the command (`capsule run --enforce`). Usage:
 *
 *   capsule-confine --probe            prints "landlock <abi>" and "arch <name>"
 *   capsule-confine SPEC -- PATH ARGV0 [ARGS...]
 *
 * SPEC is written by Capsule (src/profile/enforce.ts), one directive a line:
 *
 *   handle fs | handle net        what the Landlock ruleset restricts (first lines; without
 *                                 them Landlock is not used)
 *   fs <rights in hex> <path>     Landlock path-beneath rule (rights clipped to what the
 *                                 file's type and the kernel's ABI allow)
 *   tcp-connect <port>            Landlock network rule (ABI >= 4)
 *   tcp-bind <port>
 *   syscall <name>                allowed by the seccomp filter; any syscall line turns
 *                                 the filter on; the rest fail with EPERM
 *
 * A path that does not exist is skipped (reported on stderr). Every failure to confine is
 * fatal (exit 126): a command must never run believing it is confined when it is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Landlock ABI (linux/landlock.h of kernels newer than the build host's headers may be) */
struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
};
struct ll_path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
struct ll_net_port {
  uint64_t allowed_access;
  uint64_t port;
};
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#if defined(__x86_64__)
#define ARCH_NAME "x86_64"
#define AUDIT_ARCH_THIS AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_NAME "aarch64"
#define AUDIT_ARCH_THIS AUDIT_ARCH_AARCH64
#else
#error "capsule-confine: unsupported architecture"
#endif

struct syscall_name {
  const char *name;
  int nr;
};
static const struct syscall_name SYSCALLS[] = {
#include "syscalls.inc"
};

static int fail(const char *what) {
  fprintf(stderr, "capsule-confine: %s: %s\n", what, strerror(errno));
  return 126;
}

static int landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

/* Every fs right the kernel's ABI knows; IOCTL_DEV is left unhandled (terminals, see enforce.ts). */
static uint64_t fs_rights(int abi) {
  uint64_t r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
  if (abi >= 2) r |= 1ULL << 13; /* REFER */
  if (abi >= 3) r |= LL_FS_TRUNCATE;
  return r;
}

static int syscall_nr(const char *name) {
  for (size_t i = 0; i < sizeof SYSCALLS / sizeof SYSCALLS[0]; i++)
    if (strcmp(SYSCALLS[i].name, name) == 0) return SYSCALLS[i].nr;
  return -1;
}

#define MAX_CALLS 1024
static int allowed[MAX_CALLS];
static int n_allowed;

static int install_seccomp(void) {
  /* arch check, x32 rejection, then per allowed call "jeq nr; ret allow" (short jumps only), default EPERM */
  size_t n = 0, cap = 8 + 2 * (size_t)n_allowed;
  struct sock_filter *f = calloc(cap, sizeof *f);
  if (!f) return -1;
  const struct sock_filter deny = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_THIS, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
  f[n++] = deny;
#endif
  for (int i = 0; i < n_allowed; i++) {
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)allowed[i], 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  }
  f[n++] = deny;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

int main(int argc, char **argv) {
  int abi = landlock_abi();
  if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
    printf("landlock %d\narch %s\n", abi, ARCH_NAME);
    return 0;
  }
  if (argc < 5 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: capsule-confine SPEC -- PATH ARGV0 [ARGS...]\n");
    return 2;
  }
  FILE *spec = fopen(argv[1], "r");
  if (!spec) return fail(argv[1]);
  int ruleset = -1;
  uint64_t handled = 0, handled_net = 0;
  char line[8192];
  int seccomp = 0;
  while (fgets(line, sizeof line, spec)) {
    line[strcspn(line, "\n")] = 0;
    if (strncmp(line, "handle ", 7) == 0) {
      if (ruleset >= 0) {
        fprintf(stderr, "capsule-confine: 'handle' lines must come first\n");
        return 126;
      }
      if (strcmp(line + 7, "fs") == 0 && abi >= 1) handled = fs_rights(abi);
      if (strcmp(line + 7, "net") == 0 && abi >= 4) handled_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
      continue;
    }
    if (ruleset < 0 && (handled || handled_net)) {
      struct ll_ruleset_attr attr = {.handled_access_fs = handled, .handled_access_net = handled_net};
      ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
      if (ruleset < 0) return fail("landlock_create_ruleset");
    }
    if (strncmp(line, "fs ", 3) == 0 && ruleset >= 0) {
      char *end;
      uint64_t rights = strtoull(line + 3, &end, 16) & handled;
      const char *path = end + 1;
      int fd = open(path, O_PATH | O_CLOEXEC);
      if (fd < 0) {
        fprintf(stderr, "capsule-confine: %s: %s (rule skipped)\n", path, strerror(errno));
        continue;
      }
      struct stat st;
      if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        rights &= LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
      struct ll_path_beneath pb = {.allowed_access = rights, .parent_fd = fd};
      if (rights && syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) != 0) return fail(path);
      close(fd);
    } else if ((strncmp(line, "tcp-connect ", 12) == 0 || strncmp(line, "tcp-bind ", 9) == 0) && ruleset >= 0 &&
               abi >= 4) {
      int connect = line[4] == 'c';
      struct ll_net_port np = {.allowed_access = connect ? LL_NET_CONNECT_TCP : LL_NET_BIND_TCP,
                               .port = strtoull(line + (connect ? 12 : 9), NULL, 10)};
      if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &np, 0) != 0) return fail(line);
    } else if (strncmp(line, "syscall ", 8) == 0) {
      seccomp = 1;
      int nr = syscall_nr(line + 8);
      if (nr < 0) fprintf(stderr, "capsule-confine: no system call %s on %s (ignored)\n", line + 8, ARCH_NAME);
      else if (n_allowed < MAX_CALLS) allowed[n_allowed++] = nr;
    }
  }
  fclose(spec);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("no_new_privs");
  if (ruleset >= 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) return fail("landlock_restrict_self");
  if (seccomp) {
    allowed[n_allowed < MAX_CALLS ? n_allowed++ : MAX_CALLS - 1] = SYS_execve; /* the exec below */
    if (install_seccomp() != 0) return fail("seccomp");
  }
  execv(argv[3], argv + 4);
  return fail(argv[3]);
}

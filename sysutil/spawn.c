/* SPDX-License-Identifier: Apache-2.0 */
/* Running helper programs without a shell, under a deadline; see sysutil.h.
 *
 * The child is watched with waitid(WNOWAIT) between short polls of its
 * output pipes rather than through SIGCHLD: no handler to install (ota-init
 * runs this as PID 1, and callers may have their own), no pidfd (kernels
 * older than 5.3), and the deadline holds even when the child closed its
 * pipes. WNOWAIT leaves the exited child a zombie until the end, so its pid,
 * which is also its process group id, cannot be reused while we still send
 * signals to the group. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sysutil/sysutil.h"

extern char **environ;

#define SPAWN_MAX_ENV 4096u
/* Longest sleep between two looks at the child: the worst added latency. */
#define SPAWN_POLL_MAX_MS 50u
/* How long a SIGKILLed group may take to die (only a process stuck in the
 * kernel, e.g. on a hung device, takes longer; it is then left behind). */
#define SPAWN_REAP_MS 5000u
/* Reads after the child exited: enough to empty two full pipes. */
#define SPAWN_DRAIN_READS 64

static uint64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool env_overridden(const char *entry, const struct ota_spawn_opts *o)
{
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
	for (size_t i = 0; i < o->n_env; i++)
		if (strncmp(o->env[i], entry, n) == 0 && o->env[i][n] == '=')
			return true;
	return false;
}

/* environ (unless clean_env) plus the extras, built before fork (no
 * allocation in the child). */
static int build_env(const struct ota_spawn_opts *o, const char ***ret)
{
	size_t n = 0;
	while (!o->clean_env && environ && environ[n])
		n++;
	if (n > SPAWN_MAX_ENV || o->n_env > SPAWN_MAX_ENV)
		return -E2BIG;
	const char **envp = calloc(n + o->n_env + 1, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!env_overridden(environ[i], o))
			envp[k++] = environ[i];
	for (size_t i = 0; i < o->n_env; i++)
		envp[k++] = o->env[i];
	envp[k] = NULL;
	*ret = envp;
	return 0;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		(void)close(p[0]);
	if (p[1] >= 0)
		(void)close(p[1]);
	p[0] = p[1] = -1;
}

_Noreturn static void child(const char *const *argv, const char **envp, int out_fd, int err_fd, bool discard_out)
{
	/* Its own group, so that the deadline reaches what it forks. */
	(void)setpgid(0, 0);
	/* Handlers are reset by exec, ignored signals are not: a child that
	 * inherited SIG_IGN for SIGTERM would only ever die of SIGKILL. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigset_t none;
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0)
		_exit(127);
	/* Without a capture, stdout goes to our stderr. */
	if (dup2(out_fd >= 0 ? out_fd : discard_out ? null : STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
		_exit(127);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
	_exit(errno == ENOENT ? 127 : 126);
}

/* One captured pipe. */
struct sink {
	int fd;          /* read end; -1 when not captured or at EOF */
	char *buf;       /* keeps the first size - 1 bytes */
	size_t size;
	size_t len;
	bool overflow;   /* more arrived than buf holds (read and dropped) */
};

static void sink_read(struct sink *s)
{
	char scratch[4096];
	char *dst = scratch;
	size_t room = sizeof(scratch);
	if (s->len + 1 < s->size) {
		dst = s->buf + s->len;
		room = s->size - 1 - s->len;
	}
	ssize_t got = read(s->fd, dst, room);
	if (got < 0 && errno == EINTR)
		return;
	if (got <= 0) {
		(void)close(s->fd);
		s->fd = -1;
		return;
	}
	if (dst == scratch)
		s->overflow = true;
	else
		s->len += (size_t)got;
}

/* Reads what the open sinks have, waiting up to wait_ms for something.
 * Returns how many had something (0 also after EINTR). */
static int pump(struct sink s[2], int wait_ms)
{
	struct pollfd p[2];
	struct sink *who[2];
	nfds_t n = 0;
	for (size_t i = 0; i < 2; i++)
		if (s[i].fd >= 0) {
			p[n] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
			who[n++] = &s[i];
		}
	int k = poll(p, n, wait_ms);
	for (nfds_t i = 0; k > 0 && i < n; i++)
		if (p[i].revents)
			sink_read(who[i]);
	return k > 0 ? k : 0;
}

/* 1 once the child has exited (not reaped), 0 while it runs, or -errno. */
static int has_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == EINTR ? 0 : -errno;
	return si.si_pid == pid;
}

/* Waits until the child exits or the deadline passes (or, with
 * stop_on_overflow, stdout overflows), reading its output meanwhile. The
 * looks start 1 ms apart, so a quick child costs little. Returns 1 (exited),
 * 0 (deadline or overflow) or -errno. */
static int wait_exit(pid_t pid, struct sink s[2], uint64_t deadline, bool stop_on_overflow)
{
	uint64_t slice = 1;
	for (;;) {
		int r = has_exited(pid);
		if (r != 0)
			return r;
		uint64_t t = now_ms();
		if (t >= deadline || (stop_on_overflow && s[0].overflow))
			return 0;
		(void)pump(s, (int)(deadline - t < slice ? deadline - t : slice));
		if (slice < SPAWN_POLL_MAX_MS)
			slice *= 2;
	}
}

/* After the child: what it wrote before exiting is still in the pipes. A
 * holder that escaped the group may keep them open, so only what is there
 * now is read. */
static void drain(struct sink s[2])
{
	for (int i = 0; i < SPAWN_DRAIN_READS && (s[0].fd >= 0 || s[1].fd >= 0); i++)
		if (pump(s, 0) == 0)
			break;
	for (size_t i = 0; i < 2; i++) {
		if (s[i].fd >= 0)
			(void)close(s[i].fd);
		s[i].fd = -1;
		if (s[i].size)
			s[i].buf[s[i].len] = '\0';
	}
}

/* SIGTERM to the group, SIGKILL after the grace or as soon as the child is
 * gone (what it left would otherwise outlive the grace), then the child's
 * exit within SPAWN_REAP_MS. Returns like wait_exit(). */
static int stop_group(pid_t pid, struct sink s[2], unsigned grace_ms)
{
	(void)kill(-pid, SIGTERM);
	int r = wait_exit(pid, s, now_ms() + grace_ms, false);
	(void)kill(-pid, SIGKILL);
	if (r == 0)
		r = wait_exit(pid, s, now_ms() + SPAWN_REAP_MS, false);
	return r;
}

int ota_spawn(const char *const *argv, const struct ota_spawn_opts *o, struct ota_error *err)
{
	if (!argv || !argv[0] || argv[0][0] != '/')
		return ota_error_set(err, -EINVAL, "'%s' is not an absolute path", argv && argv[0] ? argv[0] : "");
	if (!o || !o->timeout_ms)
		return ota_error_set(err, -EINVAL, "no timeout for '%s'", argv[0]);

	_cleanup_free_ const char **envp = NULL;
	int r = build_env(o, &envp);
	if (r < 0)
		return ota_error_errno(err, r, "environment for '%s'", argv[0]);

	int out[2] = { -1, -1 }, ebuf[2] = { -1, -1 };
	bool cap_out = o->out && o->out_size > 0, cap_err = o->errbuf && o->errbuf_size > 0;
	if ((cap_out && pipe2(out, O_CLOEXEC) < 0) || (cap_err && pipe2(ebuf, O_CLOEXEC) < 0)) {
		r = -errno;
		close_pair(out);
		close_pair(ebuf);
		return ota_error_errno(err, r, "pipe for '%s'", argv[0]);
	}
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close_pair(out);
		close_pair(ebuf);
		return ota_error_errno(err, r, "fork for '%s'", argv[0]);
	}
	if (pid == 0)
		child(argv, envp, out[1], ebuf[1], o->discard_stdout);
	/* Also here, so the group exists before any kill(-pid) below; EACCES
	 * means the child has exec'd, after its own setpgid(). */
	(void)setpgid(pid, pid);
	if (out[1] >= 0)
		(void)close(out[1]);
	if (ebuf[1] >= 0)
		(void)close(ebuf[1]);

	struct sink s[2] = {
		{ .fd = out[0], .buf = o->out, .size = cap_out ? o->out_size : 0 },
		{ .fd = ebuf[0], .buf = o->errbuf, .size = cap_err ? o->errbuf_size : 0 },
	};
	unsigned grace_ms = o->kill_grace_ms ? o->kill_grace_ms : OTA_SPAWN_KILL_GRACE_MS;
	r = wait_exit(pid, s, now_ms() + o->timeout_ms, true);
	bool overflow = r == 0 && s[0].overflow, timed_out = r == 0 && !overflow;
	if (r == 0)
		r = stop_group(pid, s, grace_ms);
	else if (r > 0)
		(void)kill(-pid, SIGKILL); /* what the child left running */
	drain(s);
	if (r == 0)
		return ota_error_set(err, -ETIMEDOUT,
				     "'%s' did not finish within %u ms and was still there %u ms after SIGKILL (left behind)",
				     argv[0], o->timeout_ms, SPAWN_REAP_MS);
	if (r < 0)
		return ota_error_errno(err, r, "wait for '%s'", argv[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0) /* a zombie by now: no wait */
		if (errno != EINTR)
			return ota_error_errno(err, -errno, "reap '%s'", argv[0]);
	if (timed_out)
		return ota_error_set(err, -ETIMEDOUT,
				     "'%s' did not finish within %u ms (its process group was killed)", argv[0],
				     o->timeout_ms);
	if (overflow)
		return ota_error_set(err, -EMSGSIZE, "'%s' printed more than %zu bytes (its process group was killed)",
				     argv[0], o->out_size - 1);
	if (WIFSIGNALED(status))
		return ota_error_set(err, -EINTR, "'%s' was killed by signal %d (%s)", argv[0], WTERMSIG(status),
				     strsignal(WTERMSIG(status)));
	return WEXITSTATUS(status);
}

int ota_find_system_program(const char *name, char *buf, size_t size, struct ota_error *err)
{
	static const char *const dirs[] = { "/sbin", "/usr/sbin", "/bin", "/usr/bin" };
	for (size_t i = 0; i < OTA_ELEMENTSOF(dirs); i++)
		if (ota_format(buf, size, "%s/%s", dirs[i], name) >= 0 && access(buf, X_OK) == 0)
			return 0;
	return ota_error_set(err, -ENOENT, "%s not found in /sbin, /usr/sbin, /bin, /usr/bin", name);
}

int ota_run_system_program(const char **argv, unsigned timeout_ms, struct ota_error *err)
{
	static const char *const env[] = { "PATH=/sbin:/usr/sbin:/bin:/usr/bin" };
	char path[256];
	int r = ota_find_system_program(argv[0], path, sizeof(path), err);
	if (r < 0)
		return r;
	const char *name = argv[0];
	argv[0] = path;
	struct ota_spawn_opts o = { .env = env, .n_env = OTA_ELEMENTSOF(env), .clean_env = true,
				    .discard_stdout = true, .timeout_ms = timeout_ms };
	r = ota_spawn(argv, &o, err);
	argv[0] = name; /* path goes out of scope */
	return r;
}

/* Running helper programs without a shell; see sysutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "sysutil/sysutil.h"

extern char **environ;

#define SPAWN_MAX_ENV 4096u

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

/* environ plus the extras, built before fork (no allocation in the child). */
static int build_env(const struct ota_spawn_opts *o, const char ***ret)
{
	size_t n = 0;
	while (environ && environ[n])
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

_Noreturn static void child(const char *const *argv, const char **envp, int out_fd, int err_fd)
{
	sigset_t none;
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0)
		_exit(127);
	/* Without a capture, stdout goes to our stderr. */
	if (dup2(out_fd >= 0 ? out_fd : STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
		_exit(127);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
	_exit(errno == ENOENT ? 127 : 126);
}

int ota_spawn(const char *const *argv, const struct ota_spawn_opts *opts, struct ota_error *err)
{
	static const struct ota_spawn_opts none = { 0 };
	const struct ota_spawn_opts *o = opts ? opts : &none;
	if (!argv || !argv[0] || argv[0][0] != '/')
		return ota_error_set(err, -EINVAL, "'%s' is not an absolute path", argv && argv[0] ? argv[0] : "");

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
		child(argv, envp, out[1], ebuf[1]);
	if (out[1] >= 0)
		(void)close(out[1]);
	if (ebuf[1] >= 0)
		(void)close(ebuf[1]);
	out[1] = ebuf[1] = -1;

	size_t out_len = 0, err_len = 0;
	bool overflow = false, timed_out = false;
	uint64_t deadline = o->timeout_ms ? now_ms() + o->timeout_ms : 0;
	while (out[0] >= 0 || ebuf[0] >= 0) {
		struct pollfd p[2];
		nfds_t n = 0;
		int idx_out = -1;
		if (out[0] >= 0) {
			idx_out = (int)n;
			p[n++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		}
		if (ebuf[0] >= 0) {
			p[n++] = (struct pollfd){ .fd = ebuf[0], .events = POLLIN };
		}
		int wait = -1;
		if (deadline) {
			uint64_t t = now_ms();
			if (t >= deadline) {
				timed_out = true;
				break;
			}
			wait = (int)(deadline - t);
		}
		int k = poll(p, n, wait);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		for (nfds_t i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			bool is_out = (int)i == idx_out;
			char sink[4096];
			char *dst = sink;
			size_t room = sizeof(sink);
			if (is_out && out_len + 1 < o->out_size) {
				dst = o->out + out_len;
				room = o->out_size - 1 - out_len;
			} else if (!is_out && err_len + 1 < o->errbuf_size) {
				dst = o->errbuf + err_len;
				room = o->errbuf_size - 1 - err_len;
			}
			ssize_t got = read(p[i].fd, dst, room);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				(void)close(p[i].fd);
				if (is_out)
					out[0] = -1;
				else
					ebuf[0] = -1;
				continue;
			}
			if (dst == sink) {
				if (is_out)
					overflow = true;  /* more than the caller allowed */
			} else if (is_out) {
				out_len += (size_t)got;
			} else {
				err_len += (size_t)got;
			}
		}
		if (overflow)
			break;
	}
	close_pair(out);
	close_pair(ebuf);
	if (timed_out || overflow)
		(void)kill(pid, SIGKILL);
	if (cap_out)
		o->out[out_len] = '\0';
	if (cap_err)
		o->errbuf[err_len] = '\0';

	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ota_error_errno(err, -errno, "wait for '%s'", argv[0]);
	}
	if (timed_out)
		return ota_error_set(err, -ETIMEDOUT, "'%s' did not finish within %u ms (killed)", argv[0],
				     o->timeout_ms);
	if (overflow)
		return ota_error_set(err, -EMSGSIZE, "'%s' printed more than %zu bytes (killed)", argv[0],
				     o->out_size - 1);
	if (WIFSIGNALED(status))
		return ota_error_set(err, -EINTR, "'%s' was killed by signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

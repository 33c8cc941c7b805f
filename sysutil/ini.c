/* INI parsing over an in-memory text with inih, telling the handler each
 * entry's line number (Debian's inih is built without INI_HANDLER_LINENO). */
#include <ini.h>
#include <string.h>

#include "sysutil/sysutil.h"

struct ini_state {
	const char *next; /* unread text */
	int line;         /* line the handler is called for */
	ota_ini_handler handler;
	void *user;
};

/* An fgets() over the text that counts lines. */
static char *read_line(char *str, int num, void *stream)
{
	struct ini_state *s = stream;
	if (!*s->next || num < 2)
		return NULL;
	size_t n = strcspn(s->next, "\n");
	if (s->next[n] == '\n')
		n++;
	size_t room = (size_t)num - 1;
	size_t take = n < room ? n : room;
	memcpy(str, s->next, take);
	str[take] = '\0';
	s->next += take;
	if ((take && str[take - 1] == '\n') || !*s->next)
		s->line++;
	return str;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *s = user;
	if (!key)
		return 1;
	return s->handler(s->user, section, key, value, s->line) == 0;
}

int ota_ini_parse_text(const char *text, ota_ini_handler handler, void *user)
{
	struct ini_state s = { .next = text, .handler = handler, .user = user };
	return ini_parse_stream(read_line, &s, on_entry, &s);
}

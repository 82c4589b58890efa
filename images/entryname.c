/* berth images/ — tar entry names: lexical cleaning (berth_layer_clean_path)
 * and quoting for error messages.  Pure string work; the unpacker still
 * resolves every cleaned name by fd inside the layer root. */
#include "images/unpack.h"

#include <stdbool.h>
#include <string.h>

const char *berth_unpack_quote(const char *s, char *buf, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0;
	if (n < 8) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (o + 9 >= n) { /* room for \xHH, "...", quote and NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hexd[*p >> 4];
			buf[o++] = hexd[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *berth_layer_clean_reason(const char *name, bool allow_root, char *out)
{
	if (!name || !*name)
		return "empty name";
	if (name[0] == '/')
		return "absolute name (entries must be relative to the layer root)";
	char *o = out;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "path escapes the layer root (\"..\" component)";
		if (o != out)
			*o++ = '/';
		memcpy(o, s, n);
		o += n;
	}
	*o = '\0';
	if (o == out && !allow_root)
		return "names the layer root";
	return NULL;
}

/* The message is the bare reason: callers wrap it with what the name was
 * ("entry \"a/../b\": path escapes the layer root (\"..\" component)"). */
int berth_layer_clean_path(const char *name, bool allow_root, char *out, struct berth_err *err)
{
	const char *why = berth_layer_clean_reason(name, allow_root, out);
	if (!why)
		return 0;
	return berth_err_set(err, 0, "%s", why);
}

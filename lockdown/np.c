/*
 * np.c - notification_proxy message codec, shared by the host client
 * (np_client.c) and the virtual device (sim/sim_services_serve.c).
 */
#include "np.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <string.h>

static const struct {
	enum ib_np_cmd cmd;
	const char *name;
	int has_name;
} cmds[] = {
	{ IB_NP_POST, "PostNotification", 1 },
	{ IB_NP_OBSERVE, "ObserveNotification", 1 },
	{ IB_NP_SHUTDOWN, "Shutdown", 0 },
	{ IB_NP_RELAY, "RelayNotification", 1 },
	{ IB_NP_PROXY_DEATH, "ProxyDeath", 0 },
};

static int
cmd_index(enum ib_np_cmd cmd)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(cmds); i++)
		if (cmds[i].cmd == cmd)
			return (int)i;
	return -1;
}

const char *
ib_np_cmd_name(enum ib_np_cmd cmd)
{
	int i = cmd_index(cmd);

	return i >= 0 ? cmds[i].name : "unknown";
}

static int
name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) <= IB_NP_NAME_MAX;
}

int
ib_np_msg_build(enum ib_np_cmd cmd, const char *name, plist_t *msgp)
{
	int i = cmd_index(cmd);
	plist_t d;

	*msgp = NULL;
	if (i < 0 || (cmds[i].has_name && !name_ok(name)))
		return IB_ERR_INVALID_ARG;
	if ((d = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(d, "Command", plist_new_string(cmds[i].name));
	if (cmds[i].has_name)
		plist_dict_set_item(d, "Name", plist_new_string(name));
	*msgp = d;
	return IB_OK;
}

int
ib_np_msg_parse(plist_t msg, struct ib_np_msg *m)
{
	const char *command, *name = NULL;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!ib_plist_is_dict(msg)) {
		ib_err_detail_set("notification_proxy: message is not a dict");
		return IB_ERR_NP;
	}
	if (ib_plist_dict_get_string(msg, "Command", &command) != IB_OK) {
		ib_err_detail_set("notification_proxy: no string Command");
		return IB_ERR_NP;
	}
	for (i = 0; i < IB_ARRAY_LEN(cmds); i++)
		if (strcmp(command, cmds[i].name) == 0)
			break;
	if (i == IB_ARRAY_LEN(cmds)) {
		ib_err_detail_set("notification_proxy: unknown Command \"%.64s\"", command);
		return IB_ERR_NP;
	}
	if (cmds[i].has_name &&
	    (ib_plist_dict_get_string(msg, "Name", &name) != IB_OK || !name_ok(name))) {
		ib_err_detail_set("notification_proxy: %s without a valid Name", cmds[i].name);
		return IB_ERR_NP;
	}
	m->cmd = cmds[i].cmd;
	m->name = name;
	return IB_OK;
}

int
ib_np_host_input(plist_t msg, const char **namep)
{
	struct ib_np_msg m;
	int r;

	*namep = NULL;
	if ((r = ib_np_msg_parse(msg, &m)) != IB_OK)
		return r;
	switch (m.cmd) {
	case IB_NP_RELAY:
		*namep = m.name;
		return IB_OK;
	case IB_NP_PROXY_DEATH:
		ib_err_detail_set("notification_proxy: the device sent ProxyDeath");
		return IB_ERR_EOF;
	default:
		ib_err_detail_set("notification_proxy: the device sent %s, a host command",
		    ib_np_cmd_name(m.cmd));
		return IB_ERR_NP;
	}
}

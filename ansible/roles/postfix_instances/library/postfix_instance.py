#!/usr/bin/python3
# Copyright: the postfix-instances authors. License: see LICENSE.
"""Ansible module: one Postfix instance, as postfix-instances sees it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_instance
short_description: Declare one Postfix instance (postmulti) and its main.cf/master.cf
description:
  - Reads the host's instances with C(postfix-instances list --json), creates the
    instance with C(postmulti -e create), sets C(main.cf) parameters with
    C(postmulti -i NAME -x postconf -e) (C(postconf -c DIR -e) for the default
    instance) only when a value differs, adds, replaces or removes C(master.cf)
    services, moves it to its declared group (C(postmulti -e assign)), and
    enables, disables or destroys it with C(postmulti -e).
  - Does not rename: an instance declared under a new name whose configuration
    directory another instance holds is an error that says how to rename it.
  - Supports check mode (predicts, changes nothing) and diff mode (main.cf lines).
  - Never starts or stops anything; the role does that through systemd.
options:
  name:
    description: multi_instance_name; C(-) is the default instance.
    type: str
    required: true
  group:
    description:
      - multi_instance_group; C(-e create -G) for a new instance, C(-e assign -G) for one
        in another group (an empty string takes it out of its group).
    type: str
  config_directory:
    description: Where a new instance's configuration goes (postmulti's default otherwise).
    type: str
  enabled:
    description: multi_instance_enable.
    type: bool
  parameters:
    description: main.cf parameters, name to value.
    type: dict
    default: {}
  services:
    description: master.cf services, each C(service) (NAME/TYPE), C(line) and C(state).
    type: list
    elements: dict
    default: []
  state:
    description: C(present), or C(absent) (postmulti -e destroy; refused with queued mail).
    type: str
    choices: [present, absent]
    default: present
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

LIST = ["postfix-instances", "list", "--json"]


def run(module, args, check_rc=True):
    rc, out, err = module.run_command(args)
    if check_rc and rc != 0:
        # The reason, without postconf's warnings about other parameters
        # (stderr keeps them).
        text = (err or out).strip()
        reason = "\n".join(l for l in text.splitlines() if ": warning: " not in l) or text
        module.fail_json(msg="%s: exit %d: %s" % (" ".join(args), rc, reason), rc=rc,
                         stdout=out, stderr=err)
    return rc, out, err


def find(module, name):
    _, out, _ = run(module, LIST)
    try:
        doc = json.loads(out)
    except ValueError as e:
        module.fail_json(msg="postfix-instances list --json: not JSON: %s" % e)
    for inst in doc.get("instances", []):
        if name == "-" and inst.get("default"):
            return inst
        if name != "-" and not inst.get("default") and inst.get("name") == name:
            return inst
    return None


def holder(module, cdir):
    """The secondary instance whose configuration directory is cdir, or None."""
    _, out, _ = run(module, LIST)
    want = os.path.normpath(cdir)
    for inst in json.loads(out).get("instances", []):
        if not inst.get("default") and os.path.normpath(inst.get("config_directory") or "") == want:
            return inst
    return None


def current_param(module, cdir, pname):
    _, out, err = run(module, ["postconf", "-c", cdir, "-h", pname])
    if "unknown parameter" in err:
        return None
    return out.rstrip("\n")


def current_service(module, cdir, svc):
    rc, out, _ = run(module, ["postconf", "-c", cdir, "-M", svc], check_rc=False)
    out = out.strip()
    return out.split() if rc == 0 and out else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            group=dict(type="str"),
            config_directory=dict(type="str"),
            enabled=dict(type="bool"),
            parameters=dict(type="dict", default={}),
            services=dict(type="list", elements="dict", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    check = module.check_mode
    result = dict(changed=False, created=False, maincf_changed=False, mastercf_changed=False,
                  enabled_changed=False, destroyed=False, commands=[])
    diff_before, diff_after = [], []

    def do(args):
        result["commands"].append(" ".join(args))
        result["changed"] = True
        if not check:
            run(module, args)

    # The default instance is never disabled or destroyed: postmulti refuses,
    # and on Debian 13 its unit (postfix.service) takes every instance down
    # with it (PartOf=).
    if name == "-" and (p["state"] == "absent" or p["enabled"] is False):
        module.fail_json(msg="the default instance cannot be disabled or destroyed; "
                         "declare secondary instances only")

    # The default instance must be set up for multiple instances first.
    if name != "-" and p["state"] == "present":
        wrapper = current_param(module, "/etc/postfix", "multi_instance_wrapper")
        if not wrapper:
            do(["postmulti", "-e", "init"])

    inst = find(module, name)
    if p["state"] == "absent":
        if inst is not None:
            if inst.get("enabled"):
                do(["postmulti", "-i", name, "-e", "disable"])
            do(["postmulti", "-i", name, "-e", "destroy"])
            result["destroyed"] = True
        module.exit_json(**result)

    if inst is None:
        if name == "-":
            module.fail_json(msg="postfix-instances list --json shows no default instance")
        other = holder(module, p["config_directory"] or "/etc/" + name)
        if other is not None:
            module.fail_json(msg="%s is instance %s's configuration directory, and no instance is named %s: "
                             "the role does not rename instances (declare it as %s, or rename it first: stop "
                             "it, postmulti -i %s -I %s -e assign, then run the role)"
                             % (other["config_directory"], other.get("name") or "-", name,
                                other.get("name") or "-", other.get("name") or "-", name))
        args = ["postmulti", "-I", name]
        if p["group"]:
            args += ["-G", p["group"]]
        args += ["-e", "create"]
        if p["config_directory"]:
            args.append("config_directory=" + p["config_directory"])
        do(args)
        result["created"] = True
        if not check:
            inst = find(module, name)
            if inst is None:
                module.fail_json(msg="postmulti -e create ran but postfix-instances list does not show %s" % name)

    cdir = inst["config_directory"] if inst else (p["config_directory"] or "/etc/" + name)
    result["config_directory"] = cdir

    # Another group: postmulti -e assign rewrites multi_instance_group, and
    # the shim has systemd rerun the generator, which moves the unit from
    # the old group's target to the new one. The master keeps running.
    if inst is not None and p["group"] is not None and (inst.get("group") or "") != p["group"]:
        do(["postmulti", "-i", name, "-G", p["group"] or "-", "-e", "assign"])
        result["group_changed"] = True
        diff_before.append("multi_instance_group = %s" % (inst.get("group") or ""))
        diff_after.append("multi_instance_group = %s" % p["group"])
        if not check:
            inst = find(module, name)

    edit = ["postconf", "-c", cdir] if name == "-" else ["postmulti", "-i", name, "-x", "postconf"]

    # main.cf: only the parameters whose value differs.
    sets = []
    for pname in sorted(p["parameters"]):
        want = p["parameters"][pname]
        if isinstance(want, bool):
            want = "yes" if want else "no"
        want = "" if want is None else str(want)
        have = current_param(module, cdir, pname) if inst is not None else None
        if have != want:
            sets.append("%s = %s" % (pname, want))
            if have is not None:
                diff_before.append("%s = %s" % (pname, have))
            diff_after.append("%s = %s" % (pname, want))
    if sets:
        do(edit + ["-e"] + sets)
        result["maincf_changed"] = True

    # master.cf services.
    for svc in p["services"]:
        key = svc.get("service")
        if not key or "/" not in key:
            module.fail_json(msg="services: %r: want service: NAME/TYPE" % svc)
        have = current_service(module, cdir, key) if inst is not None else None
        if svc.get("state", "present") == "absent":
            if inst is None or have is not None:
                do(edit + ["-MX", key])
                result["mastercf_changed"] = True
            continue
        line = svc.get("line", "")
        if have != line.split():
            do(edit + ["-M", "%s=%s" % (key, line)])
            result["mastercf_changed"] = True

    # Enable or disable, after configuring (the shim tells systemd).
    if name != "-" and p["enabled"] is not None:
        is_on = bool(inst.get("enabled")) if inst is not None else False
        if is_on != p["enabled"]:
            do(["postmulti", "-i", name, "-e", "enable" if p["enabled"] else "disable"])
            result["enabled_changed"] = True

    result["enabled"] = p["enabled"] if p["enabled"] is not None else bool((inst or {}).get("enabled"))
    # Unit names are postfix-instances' (they differ between Debian
    # releases); an instance that check mode did not create has none yet.
    result["unit"] = (inst or {}).get("unit") or ""
    result["group_target"] = (inst or {}).get("group_target") or ""
    if diff_after:
        result["diff"] = dict(before_header=os.path.join(cdir, "main.cf"), after_header=os.path.join(cdir, "main.cf"),
                              before="\n".join(diff_before) + ("\n" if diff_before else ""),
                              after="\n".join(diff_after) + "\n")
    module.exit_json(**result)


if __name__ == "__main__":
    main()

"""The issue's SSH lab, on real connections: a bastion instance whose security group allows
SSH in both directions, a target whose group allows only egress, in another subnet whose
network ACL allows everything but TCP 22. SSH from the bastion to the target fails; fixing the
security group alone still fails (the ACL blocks it); fixing the ACL too makes SSH work.

Each step is observed with the real `ssh` client and the key pair, run in the bastion's own
network namespace (its packets leave through the bastion's eth0), and with a plain TCP connect
to port 22 that reads the SSH banner.
"""

from __future__ import annotations

import subprocess

from instance_support import base_image, wait_file  # noqa: F401  (fixtures)
from network_support import ANYWHERE, eventually, lab, perm, probe, ssh_argv, steadily  # noqa: F401


def test_ssh_needs_both_the_security_group_and_the_network_acl(nubo, lab, tmp_path):
    vpc = lab.vpc("10.41.0.0/16")
    bastion_net = lab.subnet(vpc, "10.41.1.0/24")
    target_net = lab.subnet(vpc, "10.41.2.0/24")
    ssh_both_ways = lab.security_group(vpc, ingress=[perm("tcp", 22, cidr=ANYWHERE)],
                                       egress=[perm("tcp", 22, cidr=ANYWHERE)])
    egress_only = lab.security_group(vpc)  # AWS's default egress rule, no ingress
    # Everything is allowed but TCP 22, in both directions (rule 100 before rule 200).
    acl = lab.network_acl(vpc, [target_net], [
        (False, 100, False, ANYWHERE, "tcp", (22, 22)),
        (False, 200, True, ANYWHERE, "-1", None),
        (True, 100, False, ANYWHERE, "tcp", (22, 22)),
        (True, 200, True, ANYWHERE, "-1", None),
    ])
    key_name, material = lab.key_pair()
    key = tmp_path / "key.pem"
    key.write_text(material + "\n")
    key.chmod(0o600)
    bastion, target = lab.instances([
        {"subnet": bastion_net, "groups": [ssh_both_ways], "key": key_name},
        {"subnet": target_net, "groups": [egress_only], "key": key_name},
    ])
    # The target is ready for SSH (its first boot installed the key), so every failure below
    # is the network's doing.
    lab.wait_sshd(target)
    wait_file(nubo, target.id, "/home/admin/.ssh/authorized_keys")

    def ssh() -> subprocess.CompletedProcess:
        return subprocess.run(ssh_argv(bastion.netns, key, target.ip) + ["hostname"],
                              capture_output=True, text=True, timeout=30)

    def banner() -> bool:
        seen = probe(bastion.netns, "tcp", target.ip, 22, banner=True)
        return seen.ok and (seen.seen or "").startswith("SSH-2.0-")

    # 1. The target's group has no ingress rule and the ACL denies TCP 22: SSH times out.
    steadily("a TCP connection to the target's port 22", banner)
    failed = ssh()
    assert failed.returncode != 0 and "timed out" in failed.stderr, failed

    # 2. The group allows SSH now, the ACL still denies it.
    lab.ec2.authorize_security_group_ingress(GroupId=egress_only,
                                             IpPermissions=[perm("tcp", 22, cidr=ANYWHERE)])
    steadily("SSH with the group fixed but the ACL denying TCP 22", banner)
    failed = ssh()
    assert failed.returncode != 0 and "timed out" in failed.stderr, failed

    # 3. The ACL allows TCP 22 too (its deny entries go): SSH works, end to end.
    lab.ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Egress=False)
    lab.ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Egress=True)
    eventually("a TCP connection to port 22 once the ACL allows it", banner)
    done = eventually("SSH from the bastion to the target",
                      lambda: (lambda d: d if d.returncode == 0 else None)(ssh()))
    assert done.stdout.strip() == "ip-" + target.ip.replace(".", "-"), done

    # The ACL is what decides: deny TCP 22 inbound again and SSH stops.
    lab.acl_entry(acl, False, 100, False, ANYWHERE, "tcp", (22, 22))
    steadily("SSH once the ACL denies TCP 22 again", banner)

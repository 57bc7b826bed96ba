#!/usr/bin/env python3
"""`features` and `spec`: features prints JSON with the version range and
the namespaces; spec writes a config.json that create accepts.

Run with vessel-oci, then with runc to check the test itself; the fixtures,
the clean-up checks after every case and the selection of cases by name
($VESSEL_TEST_FILTER) are in vessel_test/oci.py.
Usage: test_oci_features.py [VESSEL_OCI [RUNC]]
"""
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from vessel_test import oci  # noqa: E402
from vessel_test.oci import (expect_status, force_cleanup, leftovers)  # noqa: E402

CASES = []
case = oci.registry(CASES)


@case('features prints JSON with ociVersionMin/Max and linux.namespaces')
def features(ctx, rt, step):
    p = []
    r = rt.run(["features"])
    expect_status(p, r, 0, "features")
    try:
        f = json.loads(r.out)
        for key in ("ociVersionMin", "ociVersionMax"):
            if not isinstance(f.get(key), str) or not f[key].startswith("1."):
                p.append(f"features.{key} is {f.get(key)!r}")
        ns = (f.get("linux") or {}).get("namespaces")
        if not isinstance(ns, list) or not {"pid", "mount", "network", "ipc", "uts"} <= set(ns):
            p.append(f"features.linux.namespaces is {ns!r}")
    except (ValueError, AttributeError) as ex:
        p.append(f"features printed no JSON object: {ex}")
    step("features prints JSON with ociVersionMin/Max and linux.namespaces", p, [r])


@case('spec writes a config.json that parses and that create accepts')
def spec(ctx, rt, step):
    cid = ctx.new_id(rt, "spec")
    bundle = os.path.join(ctx.tmp, "b-" + cid)
    os.makedirs(bundle)
    shutil.copytree(ctx.master, os.path.join(bundle, "rootfs"), symlinks=True, copy_function=os.link)
    ctx.used.append((rt, cid, bundle, ctx.cgpath(cid)))
    try:
        p = []
        r1 = rt.run(["spec", "--bundle", bundle])
        expect_status(p, r1, 0, "spec")
        results = [r1]
        try:
            with open(os.path.join(bundle, "config.json")) as f:
                cfg = json.load(f)
            cfg["process"]["terminal"] = False
            cfg["process"]["args"] = ["/bin/true"]
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(cfg, f)
            r2 = rt.run(["create", "--bundle", bundle, cid], cwd=bundle)
            expect_status(p, r2, 0, "create with the spec's config")
            r3 = rt.run(["delete", "--force", cid])
            expect_status(p, r3, 0, "delete")
            results += [r2, r3]
            default_cg = cfg.get("linux", {}).get("cgroupsPath") or (f"/vessel/{cid}" if rt.is_vessel
                                                                    else f"/{cid}")
            p += leftovers(rt, cid, bundle, default_cg)
        except (OSError, ValueError, KeyError, TypeError) as ex:
            p.append(f"spec's config.json: {ex}")
        step("spec writes a config.json that parses and that create accepts", p, results)
    finally:
        force_cleanup(rt, cid, bundle, f"/vessel/{cid}" if rt.is_vessel else f"/{cid}")


if __name__ == "__main__":
    sys.exit(oci.main(CASES))

"""The image tarballs the pipeline deploy uploads: the hosts of one run prepare at the same
time, and each may find the cache without the tarball (seen on the three-node rig: one
host's `docker save` renamed the file another was still writing)."""
import os
import threading

from deploys.pipeline.images import _saved

IMAGE_ID = "sha256:" + "ab" * 32


def test_hosts_saving_the_same_image_at_once_each_get_the_whole_tarball(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"  # `docker save --output FILE ID`, slowly, in two writes
    docker.write_text('#!/bin/sh\nprintf first- > "$3"; sleep 0.3; printf "$4" >> "$3"\n')
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "bigdata_pipeline-0123456789abcdef.tar").write_text("an older image")
    results, errors = [], []

    def save():
        try:
            results.append(_saved("bigdata/pipeline:tag", IMAGE_ID, cache))
        except Exception as error:  # what the old code raised: FileNotFoundError on the rename
            errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    (tarball,) = set(results)
    assert tarball.read_text() == f"first-{IMAGE_ID}"
    assert sorted(p.name for p in cache.iterdir()) == [tarball.name], "the older tarball and every partial file gone"

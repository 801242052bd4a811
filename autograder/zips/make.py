#!/usr/bin/env python3
"""make.py - writes the hostile archives of lab 7's safety checks.

Each is built byte by byte (not with zipfile, which would refuse to write
most of them), the same every time: run `python3 make.py` in this folder
after changing it, and commit the .zip files with it. README.md says what
each archive is and which refusal it must get.
"""
import struct
import zlib


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


class Entry:
    def __init__(self, name, data=b"", method=8, crc=None, made_by=0x0314,
                 external=0o100644 << 16):
        self.name = name.encode() if isinstance(name, str) else name
        self.data = data
        self.method = method if data else 0
        self.packed = deflate(data) if self.method == 8 else data
        self.crc = zlib.crc32(data) if crc is None else crc
        self.made_by = made_by
        self.external = external
        self.offset = 0


def local(e):
    return struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0x0800, e.method, 0,
                       0x5821, e.crc, len(e.packed), len(e.data),
                       len(e.name), 0) + e.name + e.packed


def central(e, offset=None):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, e.made_by, 20,
                       0x0800, e.method, 0, 0x5821, e.crc, len(e.packed),
                       len(e.data), len(e.name), 0, 0, 0, 0, e.external,
                       e.offset if offset is None else offset) + e.name


def end(count, cd_size, cd_offset):
    return struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, count, count, cd_size,
                       cd_offset, 0)


def archive(entries, records=None):
    """Local entries, then the central directory: one record per entry,
    or the (entry, offset) pairs of records when given."""
    out = b""
    for e in entries:
        e.offset = len(out)
        out += local(e)
    cd = b"".join(central(e, off) for e, off in
                  (records or [(e, None) for e in entries]))
    count = len(records) if records else len(entries)
    return out + cd + end(count, len(cd), len(out))


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


def main():
    good = Entry("good.txt", b"an honest file\n" * 10)
    write("slip-dotdot.zip", archive(
        [good, Entry("a/../../escaped.txt", b"I got out\n")]))
    write("slip-absolute.zip", archive(
        [Entry("/tmp/escaped.txt", b"I got out\n")]))
    write("symlink.zip", archive(
        [Entry("notes.txt", b"just text\n"),
         Entry("passwd", b"/etc/passwd", method=0,
               external=0o120777 << 16)]))
    write("ratio-bomb.zip", archive(
        [Entry("zeros.bin", bytes(200 << 20))]))
    kernel = Entry("0", bytes(512 << 10))
    write("overlap-bomb.zip", archive(
        [kernel], [(kernel, 0)] + [(Entry(str(i), bytes(512 << 10)), 0)
                                   for i in range(1, 1000)]))
    files = [Entry(c + ".txt", (c * 40 + "\n").encode() * 50) for c in "abc"]
    write("late-crc.zip", archive(
        files + [Entry("d.txt", b"the last file\n" * 20, crc=0x12345678)]))
    write("duplicate-name.zip", archive(
        [Entry("a.txt", b"first\n"), Entry("a.txt", b"second, to replace "
                                                     b"the first\n")]))
    write("file-then-folder.zip", archive(
        [Entry("a/b", b"a file\n"), Entry("a/b/", b"")]))
    whole = archive([Entry(c + ".txt", bytes(range(256)) * 64)
                     for c in "abc"])
    write("truncated.zip", whole[:len(whole) // 2])
    # 42.zip's shape, small: a page of text in 16 zips, each level 16 of
    # the level below, five levels down (42.zip's last files are 4.3 GB
    # of zeros; these stay small, so that only the depth is refused).
    level = archive([Entry("page-%x.txt" % i, b"a page of text\n" * 64)
                     for i in range(16)])
    for name in ("doc", "chapter", "book", "lib", "shelf"):
        level = archive([Entry("%s-%x.zip" % (name, i), level)
                         for i in range(16)])
    write("nested-bomb.zip", level)


if __name__ == "__main__":
    main()

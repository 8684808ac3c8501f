"""A streaming ZIP writer that can stop and be taken up by another process (an export job's next
worker), which the standard library's zipfile cannot: its deflater and its entry list live only
in memory.

Entries are deflated one after the other, each followed by a data descriptor (the sink never
seeks). `state()` ends the deflate stream written so far on a byte boundary with a full flush
(no back-reference crosses it), so the next writer starts a new raw deflate stream where it
stopped: a reader sees one entry whose blocks simply go on (the technique of parallel gzip).
What remains is plain data — offsets, sizes, CRCs — and travels as JSON. Entries and the whole
file stay under 4 GiB (no ZIP64): a workbook of millions of sessions, ~80 bytes a row deflated."""
import struct
import zlib

LIMIT = 0xFFFFFFFF
FLAGS = 0x0808  # bit 3: sizes in a data descriptor after the data; bit 11: UTF-8 names
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: a fixed date, so the same content gives the same bytes
DOS_TIME = 0


class ZipStream:
    def __init__(self, out, level: int = 6, state: dict | None = None):
        self.out, self.level = out, level
        self.offset = 0
        self.entries: list[list] = []  # [name, offset, crc, compressed, size]
        self.entry: list | None = None
        self.deflater = None
        if state:
            self.offset = state["offset"]
            self.entries = [list(e) for e in state["entries"]]
            self.entry = list(state["entry"]) if state["entry"] else None
            if self.entry:
                self.deflater = self._new_deflater()

    def _new_deflater(self):
        return zlib.compressobj(self.level, zlib.DEFLATED, -15)

    def _emit(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.offset += len(data)
            if self.entry is not None:
                self.entry[3] += len(data)
            if self.offset > LIMIT:
                raise ValueError("the file passed 4 GiB, the limit of a ZIP without ZIP64")

    def open(self, name: str) -> None:
        if self.entry is not None:
            raise ValueError("close the open entry first")
        encoded = name.encode("utf-8")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, FLAGS, 8, DOS_TIME, DOS_DATE, 0, 0, 0, len(encoded), 0)
        self._emit(header + encoded)
        self.entry = [name, self.offset - len(header) - len(encoded), 0, 0, 0]
        self.deflater = self._new_deflater()

    def write(self, data: bytes) -> None:
        entry = self.entry
        entry[2] = zlib.crc32(data, entry[2])
        entry[4] += len(data)
        if entry[4] > LIMIT:
            raise ValueError(f"{entry[0]} passed 4 GiB, the limit of a ZIP entry without ZIP64")
        self._emit(self.deflater.compress(data))

    def close_entry(self) -> None:
        self._emit(self.deflater.flush(zlib.Z_FINISH))
        name, _, crc, compressed, size = entry = self.entry
        self.entry, self.deflater = None, None
        self._emit(struct.pack("<IIII", 0x08074B50, crc, compressed, size))
        self.entries.append(entry)

    def writestr(self, name: str, text: str) -> None:
        self.open(name)
        self.write(text.encode("utf-8"))
        self.close_entry()

    def state(self) -> dict:
        """Where the file stands, as plain data; the open entry's deflate stream is flushed to a
        byte boundary and goes on in a new deflater (here, or in whoever resumes this state), so
        the bytes are the same whether or not the writing stopped here."""
        if self.entry is not None:
            self._emit(self.deflater.flush(zlib.Z_FULL_FLUSH))
            self.deflater = self._new_deflater()
        return {"offset": self.offset, "entries": [list(e) for e in self.entries], "entry": list(self.entry) if self.entry else None}

    def close(self) -> None:
        """The central directory: every entry, where it starts, its CRC and sizes."""
        if self.entry is not None:
            self.close_entry()
        start = self.offset
        directory = []
        for name, offset, crc, compressed, size in self.entries:
            encoded = name.encode("utf-8")
            directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, FLAGS, 8, DOS_TIME, DOS_DATE,
                                         crc, compressed, size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        body = b"".join(directory)
        self._emit(body)
        self._emit(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(self.entries), len(self.entries), len(body), start, 0))

"""A streaming XLSX (Office Open XML spreadsheet) writer over our resumable ZIP stream (zipstream).

Why our own: an export streams to S3 and must hold at most one upload part in memory, and a long
one goes on in another worker from where it stopped. Each entry is written as it is produced (a
data descriptor after it, since the sink cannot seek), so a worksheet goes out row by row,
deflated, and nothing but a small row buffer stays in memory; `state()` says where the workbook
stands as plain data. XlsxWriter would need `constant_memory` plus a temporary file of the whole
workbook, and openpyxl's write-only mode is a ~3 MB import; neither can stop and resume. Measured
by `make bench` (table 5).

Text is written as inline strings (no shared-string table to hold in memory); an inline string is
never read as a formula, so spreadsheet formula injection cannot happen here. Dates are serial
numbers (days since 1899-12-30) with a date format, durations fractions of a day with `[h]:mm:ss`,
money numbers with `#,##0.00`: a spreadsheet sums and sorts them as it would its own."""
import re
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from .zipstream import ZipStream

EPOCH = datetime(1899, 12, 30)
SECONDS_PER_DAY = 86400
FLUSH_CHARS = 256 * 1024
# XML 1.0 refuses these characters; notes could in principle carry one (never from the API).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

# Cell styles: indexes into cellXfs of STYLES below.
TEXT, HEADER, DATE, DURATION, MONEY, INTEGER, TOTAL_TEXT, TOTAL_DURATION, TOTAL_MONEY, TOTAL_INTEGER = range(10)
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd hh:mm"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border><left/><right/><top style="thin"/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="10">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1"/>
<xf numFmtId="165" fontId="1" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyFont="1" applyBorder="1"/>
<xf numFmtId="4" fontId="1" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyFont="1" applyBorder="1"/>
<xf numFmtId="1" fontId="1" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyFont="1" applyBorder="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def serial_date(moment: datetime) -> str:
    """A wall-clock datetime (naive, already in the reader's zone) as a spreadsheet serial number."""
    delta = moment.replace(tzinfo=None) - EPOCH
    return repr(delta.days + (delta.seconds + delta.microseconds / 1e6) / SECONDS_PER_DAY)


def serial_duration(seconds: int) -> str:
    return repr(seconds / SECONDS_PER_DAY)


def sheet_name(wanted: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, not empty, unique ignoring case."""
    base = _SHEET_NAME_FORBIDDEN.sub(" ", wanted).strip().strip("'") or "Sheet"
    if base.lower() == "history":  # reserved by Excel
        base = "History (client)"
    name, n = base[:31], 1
    while name.lower() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


class Cell:
    """One typed value: the writer turns it into the XML of its type."""

    __slots__ = ("kind", "value", "style")

    def __init__(self, kind: str, value, style: int):
        self.kind, self.value, self.style = kind, value, style


def text(value: str | None, style: int = TEXT) -> Cell:
    return Cell("text", value, style)


def number(value, style: int = INTEGER) -> Cell:
    """An int or a Decimal (money): written exactly as its decimal text."""
    return Cell("number", value, style)


def date(moment: datetime | None) -> Cell:
    return Cell("date", moment, DATE)


def duration(seconds: int | None, style: int = DURATION) -> Cell:
    return Cell("duration", seconds, style)


def formula(expression: str, cached, style: int) -> Cell:
    """A formula with its computed value cached, so readers that do not calculate see the figure."""
    return Cell("formula", (expression, cached), style)


class Workbook:
    """Sheets are written one after the other (start_sheet, rows, end_sheet); close() writes the
    workbook, its styles and its content types. `out` takes bytes (`write`)."""

    def __init__(self, out, compresslevel: int = 6, state: dict | None = None):
        state = state or {}
        self.zip = ZipStream(out, compresslevel, state.get("zip"))
        self.sheets: list[tuple] = [tuple(s) for s in state.get("sheets", [])]  # (name, number, columns, filter rows, tab order)
        self.taken: set[str] = set(state.get("taken", []))
        self.current = tuple(state["current"]) if state.get("current") else None
        self.pending: list[str] = []
        self.pending_chars = 0
        self.row = state.get("row", 0)
        self.columns = state.get("columns", 0)
        self.filter_rows = state.get("filter_rows", 0)

    def state(self) -> dict:
        """Where the workbook stands, as plain data (`Workbook(out, state=...)` goes on from it)."""
        self._flush()
        return {"zip": self.zip.state(), "sheets": [list(s) for s in self.sheets], "taken": sorted(self.taken),
                "current": list(self.current) if self.current else None, "row": self.row, "columns": self.columns,
                "filter_rows": self.filter_rows}

    # ---- one sheet

    def start_sheet(self, name: str, widths: list[float], order: int | None = None) -> str:
        """Opens a sheet; `order` places it (0 = first tab) though it is written now."""
        if self.current is not None:
            raise ValueError("end the open sheet first")
        name = sheet_name(name, self.taken)
        number = len(self.sheets) + 1
        self.zip.open(f"xl/worksheets/sheet{number}.xml")
        self.current = (name, order)
        self.row, self.columns, self.filter_rows = 0, len(widths), 0
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths))
        self._write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols><sheetData>"
        )
        return name

    def header(self, titles: list[str]) -> None:
        self.write_row([text(t, HEADER) for t in titles])

    def write_row(self, cells: list[Cell]) -> int:
        """Writes the next row and answers its number (1-based, as formulas name it)."""
        self.row += 1
        r = self.row
        parts = [f'<row r="{r}">']
        for i, cell in enumerate(cells):
            value = cell.value
            ref = f"{column_letter(i)}{r}"
            if value is None or value == "":
                if cell.style != TEXT:  # an empty cell of a styled row (the totals' rule) keeps its style
                    parts.append(f'<c r="{ref}" s="{cell.style}"/>')
                continue
            kind = cell.kind
            if kind == "text":
                parts.append(f'<c r="{ref}" s="{cell.style}" t="inlineStr"><is><t xml:space="preserve">{_xml(value)}</t></is></c>')
            elif kind == "number":
                parts.append(f'<c r="{ref}" s="{cell.style}"><v>{_number(value)}</v></c>')
            elif kind == "date":
                parts.append(f'<c r="{ref}" s="{cell.style}"><v>{serial_date(value)}</v></c>')
            elif kind == "duration":
                parts.append(f'<c r="{ref}" s="{cell.style}"><v>{serial_duration(value)}</v></c>')
            else:
                expression, cached = value
                parts.append(f'<c r="{ref}" s="{cell.style}"><f>{_xml(expression)}</f><v>{_number(cached)}</v></c>')
        parts.append("</row>")
        self._write("".join(parts))
        return r

    def filter_to_here(self) -> None:
        """The autofilter covers the header and the rows written so far (not the totals)."""
        self.filter_rows = self.row

    def end_sheet(self) -> None:
        name, order = self.current
        last = column_letter(self.columns - 1)
        tail = "</sheetData>"
        if self.filter_rows >= 1:
            tail += f'<autoFilter ref="A1:{last}{self.filter_rows}"/>'
        tail += '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        tail += '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>'
        self._write(tail)
        self._flush()
        self.zip.close_entry()
        self.current = None
        self.sheets.append((name, len(self.sheets) + 1, self.columns, self.filter_rows, order))

    # ---- the package

    def close(self) -> None:
        if not self.sheets:
            raise ValueError("a workbook needs at least one sheet")
        ordered = sorted(self.sheets, key=lambda s: (s[4] if s[4] is not None else len(self.sheets), s[1]))
        sheets, names, relations, overrides = [], [], [], []
        for position, (name, number, columns, filter_rows, _) in enumerate(ordered):
            sheets.append(f'<sheet name="{_xml(name)}" sheetId="{number}" r:id="rId{number}"/>')
            relations.append(
                f'<Relationship Id="rId{number}" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet{number}.xml"/>'
            )
            overrides.append(
                f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            )
            if filter_rows >= 1:
                quoted = name.replace("'", "''")
                names.append(
                    f'<definedName name="_xlnm._FilterDatabase" localSheetId="{position}" hidden="1">'
                    f"{_xml(chr(39) + quoted + chr(39))}!$A$1:${column_letter(columns - 1)}${filter_rows}</definedName>"
                )
        styles_id = len(self.sheets) + 1
        relations.append(f'<Relationship Id="rId{styles_id}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>')
        defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        self.zip.writestr("xl/workbook.xml", (
            f'{head}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{''.join(sheets)}</sheets>{defined}</workbook>"
        ))
        self.zip.writestr("xl/_rels/workbook.xml.rels", f'{head}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{"".join(relations)}</Relationships>')
        self.zip.writestr("xl/styles.xml", STYLES)
        self.zip.writestr("_rels/.rels", (
            f'{head}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ))
        self.zip.writestr("[Content_Types].xml", (
            f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{''.join(overrides)}</Types>"
        ))
        self.zip.close()

    # ---- buffering: a few hundred KB of XML per write to the deflater

    def _write(self, xml: str) -> None:
        self.pending.append(xml)
        self.pending_chars += len(xml)
        if self.pending_chars >= FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.zip.write("".join(self.pending).encode("utf-8"))
            self.pending, self.pending_chars = [], 0


def _xml(value) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _number(value) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)

#!/bin/sh
# Rebuilds the spreadsheet fixtures from register.ndjson and calls.csv,
# the way an agency's files are made: a workbook with Cyrillic headers (a
# title row above them, dates of birth as date cells shown DD.MM.YYYY,
# phone numbers typed as numbers), saved by LibreOffice as XLSX, and that
# workbook saved again as "CSV" the way a Russian-locale office saves
# it: Windows-1251, `;`. Its second sheet, "Звонки", is an operator's
# call export (calls.csv's calls, date and time cells in their own columns).
#
# Needs python3 and LibreOffice (Debian: apt-get install -y
# --no-install-recommends libreoffice-calc-nogui). The outputs are
# committed, so the tests need neither.
#
#   tests/data/agency-files/regenerate.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. register.ndjson and calls.csv -> a flat OpenDocument spreadsheet
#    (.fods) with the headers of config/examples/maps/case-register-ru.toml
#    and operator-cdr-ru.toml.
python3 - "$here/register.ndjson" "$here/calls.csv" "$work/register.fods" <<'PY'
import csv, json, sys
from xml.sax.saxutils import escape

def text(v):
    return ('<table:table-cell office:value-type="string"><text:p>%s</text:p></table:table-cell>'
            % escape(v)) if v else '<table:table-cell/>'

def number(v):
    return ('<table:table-cell table:style-name="whole" office:value-type="float" '
            'office:value="%s"><text:p>%s</text:p></table:table-cell>' % (v, v))

def date(iso):
    y, m, d = iso.split("-")
    return ('<table:table-cell table:style-name="date" office:value-type="date" '
            'office:date-value="%s"><text:p>%s.%s.%s</text:p></table:table-cell>' % (iso, d, m, y))

def clock(hms):
    h, m, s = hms.split(":")
    return ('<table:table-cell table:style-name="clock" office:value-type="time" '
            'office:time-value="PT%sH%sM%sS"><text:p>%s</text:p></table:table-cell>' % (h, m, s, hms))

def row(cells):
    return "<table:table-row>" + "".join(cells) + "</table:table-row>\n"

register = [row([text("Реестр лиц, проверенных на КПП (выгрузка)")]), row([])]
register.append(row(text(h) for h in [
    "№ записи", "Фабула", "Оценка", "Фамилия", "Имя", "Отчество", "Дата рождения",
    "Гражданство", "№ паспорта", "Страна выдачи", "Телефон", "Госномер"]))
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    ents = r["entities"]
    p = next(e for e in ents if e["type"] == "person")
    doc = next((e for e in ents if e["type"] == "document"), {})
    phones = [e["number"] for e in ents if e["type"] == "phone"]
    # A number typed without spaces or "+" becomes a number cell.
    phone = number(phones[0]) if len(phones) == 1 and phones[0].isdigit() else text(";".join(phones))
    country = doc.get("country", "")
    register.append(row([
        text(r["id"]), text(r["summary"]), text(r["grading"]), text(p["surname"]),
        text(p["given"]), text(p.get("patronymic", "")), date(p["dob"]),
        text(p.get("nationality", "")), text(doc.get("number", "")),
        # KGZ is the map's constant: the register leaves it out.
        text("" if country == "KGZ" else country), phone,
        text(";".join(e["plate"] for e in ents if e["type"] == "vehicle"))]))

calls = [row(text(h) for h in ["Абонент А", "Абонент Б", "Дата", "Время", "Длительность", "БС"])]
for c in csv.DictReader(open(sys.argv[2], encoding="utf-8")):
    day, hms = c["start"].split(" ")
    secs = int(c["duration"])
    calls.append(row([number(c["caller"].lstrip("+")), text(c["callee"]), date(day), clock(hms),
                      clock("%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)),
                      text(c["cell"])]))

ns = " ".join('xmlns:%s="urn:oasis:names:tc:opendocument:xmlns:%s"' % kv for kv in [
    ("office", "office:1.0"), ("table", "table:1.0"), ("text", "text:1.0"),
    ("style", "style:1.0"), ("number", "datastyle:1.0")])
with open(sys.argv[3], "w", encoding="utf-8") as out:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<office:document %s office:version="1.2" '
              'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">\n' % ns)
    out.write('''<office:automatic-styles>
<number:date-style style:name="dmy"><number:day number:style="long"/><number:text>.</number:text><number:month number:style="long"/><number:text>.</number:text><number:year number:style="long"/></number:date-style>
<number:time-style style:name="hms"><number:hours/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:time-style>
<number:number-style style:name="int"><number:number number:decimal-places="0" number:min-integer-digits="1"/></number:number-style>
<style:style style:name="date" style:family="table-cell" style:data-style-name="dmy"/>
<style:style style:name="clock" style:family="table-cell" style:data-style-name="hms"/>
<style:style style:name="whole" style:family="table-cell" style:data-style-name="int"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
''')
    out.write('<table:table table:name="Реестр">\n' + "".join(register) + '</table:table>\n')
    out.write('<table:table table:name="Звонки">\n' + "".join(calls) + '</table:table>\n')
    out.write('</office:spreadsheet></office:body></office:document>\n')
PY

cd "$work"
lo() { soffice -env:UserInstallation="file://$work/profile" --headless --norestore "$@" >/dev/null; }
# 2. Saved as XLSX.
lo --convert-to xlsx:"Calc MS Excel 2007 XML" --outdir "$work/xlsx" register.fods
cp "$work/xlsx/register.xlsx" "$here/register.xlsx"
# 3. The workbook's first sheet saved as CSV: `;` (59), `"` (34),
#    Windows-1251 (34), cells as shown.
lo --convert-to 'csv:Text - txt - csv (StarCalc):59,34,34,1,,1049,false,true,true' \
  --outdir "$work/csv" "$here/register.xlsx"
cp "$work/csv/register.csv" "$here/register-cp1251.csv"
echo "wrote register.xlsx and register-cp1251.csv in $here"

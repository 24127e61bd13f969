"""An independent PDF/A check for the tests: Apache PDFBox Preflight (Debian's libpdfbox2-java).

Our PDFs are written by WeasyPrint, which also declares them PDF/A-2b. Preflight is a validator
written by other people, for the rules of ISO 19005-1 (PDF/A-1b). Most of those rules hold
unchanged for PDF/A-2b (fonts embedded, an OutputIntent for device colours, the PDF/A
identification in the XMP metadata, metadata matching the document information, no
JavaScript, no encryption, no external content). The few that ISO 19005-2 dropped are
tolerated below, each by its code and its wording, and listed in ADR 0078; everything else
Preflight reports fails the test. What Preflight does not know about PDF/A-2 (the part number)
is checked here as well. Used by tests only; the production code never imports this.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pikepdf

JAVA_DIR = Path("/usr/share/java")
# Preflight and what it needs at run time (Java 11+ no longer ships JAXB and activation).
JARS = (
    "preflight.jar",
    "pdfbox2.jar",
    "fontbox2.jar",
    "xmpbox.jar",
    "commons-logging.jar",
    "javax.activation.jar",
    "jaxb-api.jar",
)
MAIN_CLASS = "org.apache.pdfbox.preflight.Validator_A1b"
DEBIAN_PACKAGES = "default-jre-headless libpdfbox2-java libactivation-java libjaxb-api-java"

# Rules of ISO 19005-1 that ISO 19005-2 dropped: (Preflight's code, its wording, the reason).
PDFA1_ONLY = (
    (
        "1.4",
        re.compile(r"/XRef cross reference streams are not allowed"),
        "PDF/A-1 is PDF 1.4, which has no cross-reference streams; PDF/A-2 (PDF 1.7) has them",
    ),
    (
        "1.2.7",
        re.compile(r"Filter specified in metadata dictionary"),
        "ISO 19005-1 6.7.2 forbids a compressed XMP stream; ISO 19005-2 6.6.2.1 does not",
    ),
    (
        "7.11.2",
        re.compile(r"part must be 1"),
        "a PDF/A-1 file says part 1 (ISO 19005-1 6.7.11); ours say part 2, checked below",
    ),
    (
        "3.1.11",
        re.compile(r"The CIDSet entry is missing for the Composite Subset"),
        "ISO 19005-1 6.3.5 requires a CIDSet; in ISO 19005-2 6.2.11.4.2 it is optional",
    ),
)


# ISO 19005-1 6.5.3 wants an appearance for every widget; ISO 19005-2 6.3.3 exempts an annotation
# whose rectangle has no width and no height, as the invisible seal (pyHanko) has. Tolerated
# only when every annotation without an appearance in the file is such a zero-size one.
NO_APPEARANCE = ("5.3.1", re.compile(r"widget annotation lacks an appearance dictionary"))


# ISO 19005-1 6.4 forbids transparency (soft masks, constant alpha, transparency groups);
# ISO 19005-2 6.2.10 allows it, and needs no group colour space when the file has a PDF/A
# OutputIntent. Tolerated only in a file with one (a semi-transparent DEMO mark, for instance).
TRANSPARENCY = re.compile(r"^(4\.1(\.\d+)?|2\.2\.1)$")
TRANSPARENCY_WORDING = re.compile(r"[Tt]ransparency|SMask")


def _has_pdfa_output_intent(pdf: bytes) -> bool:
    with pikepdf.open(BytesIO(pdf)) as document:
        return any(
            intent.get("/S") == "/GTS_PDFA1" and "/DestOutputProfile" in intent
            for intent in document.Root.get("/OutputIntents", [])
        )


# Preflight's XMP parser (xmpbox) takes namespace declarations only from rdf:Description
# elements. pyHanko, sealing, declares some (dc:) on the property element itself: valid XML and
# RDF, which xmpbox calls "Schema is not set". Tolerated only when the XMP is well-formed and the
# namespace is declared on such a property element; the identification is checked here anyway.
NAMESPACE_ON_PROPERTY = ("7.3", re.compile(r"Schema is not set in this document : (\S+)"))


class PreflightMissing(RuntimeError):
    """Java or Preflight is not installed (scripts/system-deps.sh test installs both)."""


@dataclass(frozen=True)
class Finding:
    """One error Preflight reported."""

    code: str
    details: str

    def __str__(self) -> str:
        return f"{self.code}: {self.details}"


@dataclass
class PdfaReport:
    """What Preflight found, split into PDF/A-2b problems and tolerated PDF/A-1-only rules,
    plus the PDF/A identification read from the XMP metadata."""

    part: str
    conformance: str
    problems: list[Finding] = field(default_factory=list)
    tolerated: list[Finding] = field(default_factory=list)

    @property
    def is_pdfa_2b(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [f"PDF/A identification: part {self.part!r}, conformance {self.conformance!r}"]
        lines += [f"  problem {finding}" for finding in self.problems]
        return "\n".join(lines)


def _classpath() -> str:
    missing = [jar for jar in JARS if not (JAVA_DIR / jar).exists()]
    if missing or not shutil.which("java"):
        raise PreflightMissing(
            f"PDFBox Preflight is not installed (missing: {', '.join(missing) or 'java'}); "
            f"run scripts/system-deps.sh test or apt-get install {DEBIAN_PACKAGES}"
        )
    return ":".join(str(JAVA_DIR / jar) for jar in JARS)


def preflight_findings(pdf: bytes) -> list[Finding]:
    """Every error Preflight reports for `pdf` (its XML report, parsed)."""
    classpath = _classpath()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "document.pdf"
        path.write_bytes(pdf)
        completed = subprocess.run(  # noqa: S603 - fixed program, our own temporary file
            ["java", "-cp", classpath, MAIN_CLASS, "xml", str(path)],  # noqa: S607
            capture_output=True,
            timeout=120,
            check=False,
        )
    output = completed.stdout.decode("utf-8", "replace")
    start = output.find("<?xml")
    if start < 0:
        raise RuntimeError(
            "Preflight gave no report: " + completed.stderr.decode("utf-8", "replace")[-2000:]
        )
    root = ET.fromstring(output[start:])  # noqa: S314 - the validator's report, not input
    findings = [
        Finding(
            code=(error.findtext("code") or "").strip(),
            details=(error.findtext("details") or "").strip(),
        )
        for error in root.iter("error")
    ]
    valid = (root.findtext("isValid") or "").strip() == "true"
    if not valid and not findings:
        raise RuntimeError("Preflight calls the file invalid but names no error:\n" + output)
    return findings


def pdfa_identification(pdf: bytes) -> tuple[str, str]:
    """(pdfaid:part, pdfaid:conformance) from the XMP metadata, ("", "") when absent."""
    with pikepdf.open(BytesIO(pdf)) as document:
        if "/Metadata" not in document.Root:
            return "", ""
        meta = document.open_metadata()
        return str(meta.get("pdfaid:part", "")), str(meta.get("pdfaid:conformance", ""))


def _only_zero_size_annotations_lack_an_appearance(pdf: bytes) -> bool:
    with pikepdf.open(BytesIO(pdf)) as document:
        for page in document.pages:
            for annotation in page.get("/Annots", []):
                if "/AP" in annotation:
                    continue
                left, bottom, right, top = (float(v) for v in annotation.get("/Rect", [1, 1, 2, 2]))
                if right - left != 0 or top - bottom != 0:
                    return False
    return True


def _declared_on_a_property(pdf: bytes, uri: str) -> bool:
    with pikepdf.open(BytesIO(pdf)) as document:
        if "/Metadata" not in document.Root:
            return False
        xmp = document.Root.Metadata.read_bytes()
    start, end = xmp.find(b"<x:xmpmeta"), xmp.find(b"</x:xmpmeta>")
    try:
        ET.fromstring(xmp[start : end + len(b"</x:xmpmeta>")])  # noqa: S314 - our own file
    except ET.ParseError:
        return False
    declaration = rb"<(?!rdf:Description\b)[\w.-]+:[\w.-]+\b[^>]*xmlns:[\w.-]+=\"" + re.escape(
        uri.encode()
    )
    return start >= 0 and re.search(declaration, xmp) is not None


def pdfa_check(pdf: bytes) -> PdfaReport:
    """Preflight's verdict on `pdf` as a PDF/A-2b file."""
    part, conformance = pdfa_identification(pdf)
    report = PdfaReport(part=part, conformance=conformance)
    zero_size_exemption = _only_zero_size_annotations_lack_an_appearance(pdf)
    transparency_allowed = _has_pdfa_output_intent(pdf)
    for finding in preflight_findings(pdf):
        exempt = bool(
            zero_size_exemption
            and finding.code == NO_APPEARANCE[0]
            and NO_APPEARANCE[1].search(finding.details)
        )
        if (
            transparency_allowed
            and TRANSPARENCY.match(finding.code)
            and TRANSPARENCY_WORDING.search(finding.details)
        ):
            exempt = True
        unseen = NAMESPACE_ON_PROPERTY[1].search(finding.details)
        if finding.code == NAMESPACE_ON_PROPERTY[0] and unseen:
            exempt = _declared_on_a_property(pdf, unseen.group(1))
        if exempt or any(
            finding.code == code and pattern.search(finding.details)
            for code, pattern, _reason in PDFA1_ONLY
        ):
            report.tolerated.append(finding)
        else:
            report.problems.append(finding)
    # ISO 19005-2 6.6.4: the file says which part and level it claims. Preflight only knows
    # part 1, so this is checked here (level A and U include level B).
    if part != "2" or conformance not in ("A", "B", "U"):
        report.problems.append(
            Finding("6.6.4", f"PDF/A-2 identification expected, found {part!r}/{conformance!r}")
        )
    return report


def assert_pdfa_2b(pdf: bytes) -> PdfaReport:
    """Fail the test unless Preflight finds `pdf` a valid PDF/A-2b file."""
    report = pdfa_check(pdf)
    assert report.is_pdfa_2b, f"not PDF/A-2b according to Preflight:\n{report}"
    return report

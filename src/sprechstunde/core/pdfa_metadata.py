"""The XMP metadata of our PDF/A files, laid out the way XMP readers expect it.

WeasyPrint declares every namespace once on `rdf:RDF`. That is valid RDF, but XMP readers that
take namespaces from each `rdf:Description` (Apache xmpbox, the parser under PDFBox Preflight,
our independent PDF/A check, ADR 0078) then skip the PDF/A identification and the rest of
the metadata checks. Here each description is written with its own namespace declarations,
as pyHanko also writes them when it seals. Used by the agreements (decisions, plans,
letters, logs) and the clients app (consent receipt).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from io import BytesIO

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NAMESPACES = {
    "rdf": RDF,
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def _descriptions(xmpmeta: bytes) -> list[ET.Element]:
    root = ET.fromstring(xmpmeta)  # noqa: S314 - WeasyPrint's own output, not user input
    rdf = root.find(f"{{{RDF}}}RDF")
    if rdf is None:
        raise ValueError("The XMP metadata has no rdf:RDF.")
    return list(rdf.findall(f"{{{RDF}}}Description"))


def xmp_with_local_namespaces(xmp: bytes) -> bytes:
    """The XMP packet `xmp` with namespaces declared on each description (ElementTree puts
    them on the element it serialises); the properties and their values stay as they are."""
    start = xmp.index(b"<x:xmpmeta")
    end = xmp.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    descriptions = _descriptions(xmp[start:end])
    body = b"".join(ET.tostring(description) for description in descriptions)
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="'
        + RDF.encode()
        + b'">'
        + body
        + b"</rdf:RDF></x:xmpmeta>"
    )
    return xmp[:start] + packet + xmp[end:]


def pdf_with_local_xmp_namespaces(pdf: bytes) -> bytes:
    """`pdf` (a fresh WeasyPrint PDF/A, before any seal) with its XMP laid out as above."""
    # Imported here, like WeasyPrint: the receipt's module is loaded with every portal page.
    import pikepdf

    with pikepdf.open(BytesIO(pdf)) as document:
        metadata = document.Root.Metadata
        metadata.write(xmp_with_local_namespaces(metadata.read_bytes()))
        out = BytesIO()
        # fix_metadata_version would rewrite the XMP through pikepdf's own serialiser.
        document.save(out, fix_metadata_version=False)
        return out.getvalue()

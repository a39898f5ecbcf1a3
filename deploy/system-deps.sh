#!/usr/bin/env bash
# What review's documents need from the system, installed when missing (Debian/Ubuntu, as root):
# LibreOffice Writer without a GUI (DOCX -> PDF), Times-compatible fonts (Liberation Serif, Tinos), and
# poppler-utils (pdftotext, pdffonts, pdftoppm) with which the tests read the PDFs back.
set -euo pipefail
missing=()
command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
fc-list 2>/dev/null | grep -q -E "Liberation Serif|Tinos" || missing+=(fonts-liberation2 fonts-croscore)
command -v pdftotext >/dev/null && command -v pdffonts >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "tdkt: missing ${missing[*]}; install them as root: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

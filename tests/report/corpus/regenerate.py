#!/usr/bin/env python3
"""Writes the binary and mail variants of the report corpus from the .json
files beside it (run once by hand; the outputs are committed). Shapes follow
PROTOCOLS.md section 9; every value is made up."""
import base64, gzip, json, os, quopri

here = os.path.dirname(os.path.abspath(__file__))
def read(name):
    with open(os.path.join(here, name), 'rb') as f:
        return f.read()
def write(name, data):
    with open(os.path.join(here, name), 'wb') as f:
        f.write(data)

def gz(data):
    return gzip.compress(data, mtime=0)

# A gzip report named like any file: detected by its magic bytes.
write('google-day1.json.gz', gz(read('google-day1.json')))
write('google-day1-no-extension', gz(read('google-day1.json')))
# A truncated gzip: the last 20 bytes (part of the data and the trailer) are gone.
write('truncated.json.gz', gz(read('microsoft.json'))[:-20])

def mail(message_id, subject, parts):
    boundary = '----=_stsctl_test_boundary'
    head = (
        'From: "TLS reporting" <noreply-smtp-tls-reporting@reports.example>\r\n'
        'To: tlsrpt@example.net\r\n'
        'Subject: ' + subject + '\r\n'
        'Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n'
        'Message-ID: <' + message_id + '>\r\n'
        'TLS-Report-Domain: example.net\r\n'
        'TLS-Report-Submitter: reports.example\r\n'
        'MIME-Version: 1.0\r\n'
        'Content-Type: multipart/report; report-type="tlsrpt"; boundary="' + boundary + '"\r\n\r\n')
    body = 'This is a multipart message in MIME format.\r\n'
    body += '--' + boundary + '\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' \
            'This is an aggregate TLS report from reports.example\r\n'
    for content_type, encoding, filename, data in parts:
        body += '--' + boundary + '\r\nContent-Type: ' + content_type + '\r\n'
        if filename:
            body += 'Content-Disposition: attachment; filename="' + filename + '"\r\n'
        body += 'Content-Transfer-Encoding: ' + encoding + '\r\n\r\n'
        if encoding == 'base64':
            encoded = base64.encodebytes(data).decode().replace('\n', '\r\n')
        elif encoding == 'quoted-printable':
            encoded = quopri.encodestring(data).decode().replace('\n', '\r\n')
        else:
            encoded = data.decode().replace('\n', '\r\n')
        body += encoded + ('' if encoded.endswith('\r\n') else '\r\n')
    body += '--' + boundary + '--\r\n'
    return (head + body).encode()

day2 = read('google-day2.json')
write('google-day2-gzip-base64.eml', mail(
    'day2@reports.example', 'Report Domain: example.net Submitter: reports.example Report-ID: <2026-11-21T00:00:00Z_example.net>',
    [('application/tlsrpt+gzip', 'base64', 'reports.example!example.net!1795478400!1795564799.json.gz', gz(day2))]))
write('microsoft-json-qp.eml', mail(
    'ms@reports.example', 'Report Domain: example.net Submitter: microsoft.com Report-ID: <133456789012345678+example.net>',
    [('application/tlsrpt+json', 'quoted-printable', 'microsoft.com!example.net!1795392000!1795478399.json', read('microsoft.json'))]))
# The same report as google-day1.json, sent as an octet-stream attachment.
write('google-day1-octet.eml', mail(
    'day1@reports.example', 'Report Domain: example.net Submitter: reports.example Report-ID: <2026-11-20T00:00:00Z_example.net>',
    [('application/octet-stream', 'base64', 'google.com!example.net!1795392000!1795478399.json.gz', gz(read('google-day1.json')))]))
write('no-report.eml', mail('hello@reports.example', 'Hello', []))
# One good part and one broken part: the good report is kept, the input fails.
write('one-bad-part.eml', mail(
    'mixed@reports.example', 'Two reports',
    [('application/tlsrpt+json', '7bit', 'sparse.json', read('sparse.json')),
     ('application/tlsrpt+gzip', 'base64', 'broken.json.gz', gz(read('rfc8460.json'))[:-20])]))
# An mbox of two report mails (RFC 4155 "From " lines).
mbox = b''
for name in ('google-day2-gzip-base64.eml', 'microsoft-json-qp.eml'):
    mbox += b'From noreply@reports.example Sat Nov 21 10:00:00 2026\n' + read(name).replace(b'\r\n', b'\n') + b'\n'
write('two-reports.mbox', mbox)

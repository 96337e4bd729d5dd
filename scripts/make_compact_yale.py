"""Make the embedded compact copy of Extended Yale B and the SHA-256 manifest of the full set.

Usage: python scripts/make_compact_yale.py [CroppedYale folder]

Run from the repository root. Writes src/faceleak/resources/yale_compact.zip (every cropped
image as a 64x56 PNG, the scan report, the citation and terms) and
src/faceleak/resources/yale_manifest.json (SHA-256 of every file of the full set, used by
`faceleak.vision.data.download` to verify a fresh download).
"""

import json
import sys
from pathlib import Path

from faceleak.vision import data

root = Path(sys.argv[1]) if len(sys.argv) > 1 else data.locate_data(prefer="shared").path
resources = Path("src/faceleak/resources")
report = data.build_compact(root, resources / data.COMPACT_RESOURCE)
manifest = data.build_manifest(root)
(resources / data.MANIFEST_RESOURCE).write_text(json.dumps(manifest, indent=0, sort_keys=True))
print(report.summary())
print(f"compact copy: {(resources / data.COMPACT_RESOURCE).stat().st_size / 1e6:.1f} MB; "
      f"manifest: {len(manifest)} files")

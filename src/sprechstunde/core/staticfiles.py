"""Static file storage for production: WhiteNoise's compressed manifest storage that also
rewrites the `import ... from "./x.js"` lines of native ES modules to the hashed names.

Without the rewrite a module would import the unhashed file while the page preloads the
hashed one (`<link rel="modulepreload">`): every module would be fetched twice, and an old
copy could be cached under the unhashed name. The modules' imports must form no cycle
(the manifest hashes a file after the files it names). docs/decisions/0053.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleAwareStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """CompressedManifestStaticFilesStorage with Django's ES module import rewriting on."""

    support_js_module_import_aggregation = True

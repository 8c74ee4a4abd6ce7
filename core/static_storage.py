"""The static files storage when names carry their content's hash (STATIC_MANIFEST).

The pages' scripts are ES modules that import each other by relative path
(``import { createMap } from "../lib/map.js"``). Under a hashed name
(``pages/commute.3f2a….js``) such an import would fetch the unhashed file, which a
far-future cache would then keep across releases; Django rewrites module imports to
the hashed names when asked (``support_js_module_import_aggregation``), as it does
``url()`` in stylesheets. Whitenoise's compressing storage underneath is unchanged.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

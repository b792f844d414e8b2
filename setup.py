"""The one build step setup.cfg cannot say: compile the message catalogues into the wheel,
so an installed ocopkit never writes its .mo files into site-packages. The wheel keeps the
.mo only (the sdist keeps the .po): ocopkit.i18n compiles whenever it finds a .po."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install compiles them into its instance folder
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in Path(self.build_lib, "ocopkit", "translations").glob("*/LC_MESSAGES/*.po"):
            with po_path.open("rb") as f:
                catalog = read_po(f, locale=po_path.parent.parent.name)
            with po_path.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog)
            po_path.unlink()


setup(cmdclass={"build_py": BuildWithCatalogues})

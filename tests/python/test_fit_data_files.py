"""nabla.fit reading data files as `nabla fit` does: the delimiter (given or detected), missing
values (na=, drop_na=) and NumPy .npy/.npz files, with the CLI's results."""

import os
import tempfile
import unittest
import warnings

import numpy as np

import nabla

MODEL = "param w\nparam b\ninput x\ninput y\np = w*x + b\nminimize (p - y)^2\n"


class FitDataFilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name, text=None):
        p = os.path.join(self.dir.name, name)
        if text is not None:
            with open(p, "w") as f:
                f.write(text)
        return p

    def fit(self, data, **options):
        return nabla.fit(MODEL, data=data, steps=4, in_order=True, **options)

    def test_delimiter_detected_or_given(self):
        comma = self.fit(self.path("c.csv", "x,y\n1,2\n2,4.5\n3,6\n"))
        semi = self.path("s.csv", "x;y\n1;2\n2;4.5\n3;6\n")
        self.assertEqual(self.fit(semi).loss, comma.loss)
        self.assertEqual(self.fit(semi, delimiter=";").loss, comma.loss)
        tab = self.path("t.tsv", "x\ty\n1\t2\n2\t4.5\n3\t6\n")
        self.assertEqual(self.fit(tab, delimiter="tab").loss, comma.loss)
        with self.assertRaises(nabla.ArgumentError):
            self.fit(semi, delimiter="|")
        with self.assertRaises(nabla.DataError):
            self.fit(semi, delimiter=",")

    def test_missing_values(self):
        data = self.path("na.csv", "x,y\n1,2\n2,NA\n3,6\n?,1\n")
        with self.assertRaisesRegex(nabla.DataError, r"row 2 \(line 3\), column 2 'y': missing value 'NA'"):
            self.fit(data, na="NA,?")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = self.fit(data, na=["NA", "?"], drop_na=True)
        self.assertIn("2 rows with a missing value left out", str(caught[0].message))
        self.assertEqual(r.loss, self.fit(self.path("kept.csv", "x,y\n1,2\n3,6\n")).loss)

    def test_numpy_files(self):
        x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.5, 6.0])
        want = self.fit(self.path("c.csv", "x,y\n1,2\n2,4.5\n3,6\n")).loss
        npz = self.path("d.npz")
        np.savez(npz, x=x, y=y)
        self.assertEqual(self.fit(npz).loss, want)
        deflated = self.path("d_deflated.npz")
        np.savez_compressed(deflated, x=x, y=y)
        self.assertEqual(self.fit(deflated).loss, want)
        records = np.zeros(3, dtype=[("x", "<f8"), ("y", "<f8")])
        records["x"], records["y"] = x, y
        npy = self.path("d.npy")
        np.save(npy, records)
        self.assertEqual(self.fit(npy).loss, want)
        with open(self.path("bad.npz"), "wb") as f:
            f.write(b"PK\x03\x04 cut short")
        with self.assertRaisesRegex(nabla.DataError, "not a .npz file"):
            self.fit(self.path("bad.npz"))


if __name__ == "__main__":
    unittest.main()

# Lab 7's build description, read by mk/build.mk.
LAB_7_DIR    := 07-zip-streaming
# The files a student edits; solutions/07-zip-streaming holds exactly these.
LAB_7_EDITED := zipread.c extract.c zipwrite.c staging.c
# The reader, the extractor and the writer, with their given helpers.
LAB_7_LIB    := zipread.c extract.c zipwrite.c zip_err.c cp437.c staging.c
# The server (POST /upload, GET /download.zip) is the lab's second part;
# until then, no server program, only the tool.
LAB_7_PROG   :=
LAB_7_SERVER := no
# Plain C and zlib: no earlier lab's code yet (the server part will link
# labs 1 to 6).
LAB_7_BUILDS_ON :=
LAB_7_TOOLS  := zipstream
LAB_7_TESTS  := test_zipread test_extract test_zipwrite
LAB_7_LDLIBS := -lz

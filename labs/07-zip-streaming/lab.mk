# Lab 7's build description, read by mk/build.mk.
LAB_7_DIR    := 07-zip-streaming
# The files a student edits; solutions/07-zip-streaming holds exactly these.
LAB_7_EDITED := zipread.c extract.c zipwrite.c staging.c upload.c download.c
# The reader, the extractor and the writer, with their given helpers.
LAB_7_LIB    := zipread.c zipfields.c extract.c zipwrite.c zip_err.c cp437.c staging.c nested.c
# The server: POST /upload and GET /download.zip on lab 6's workers
# (zipserver.c, given), on the frame of lab 3 and everything before it.
LAB_7_PROG   := zipserver.c upload.c download.c
LAB_7_TOOLS  := zipstream
LAB_7_TESTS  := test_zipread test_extract test_zipwrite
LAB_7_LDLIBS := -lz

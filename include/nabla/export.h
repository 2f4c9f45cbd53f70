/* What libnabla.so exports: the library is built with hidden visibility, and only declarations
   marked NABLA_API (the C and C++ embedding APIs) are visible to hosts. Shared by nabla.h and
   nabla.hpp; valid C and C++. */
#ifndef NABLA_EXPORT_H
#define NABLA_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define NABLA_API __attribute__((visibility("default")))
#else
#define NABLA_API
#endif

#endif /* NABLA_EXPORT_H */

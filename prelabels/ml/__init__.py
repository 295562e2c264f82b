"""The model layer of AI pre-labeling: pure functions on lists and arrays, no Django.

    kind, inputs = inputs.inputs_from_data([item.data for item in items])
    result = training.train_version(kind, inputs, labels, len(label_names), seed, 0.9,
                                    label_names=label_names, keys=item_ids)
    storage.save(result.model, path)                    # later: model = storage.load(path)
    for chunk in predict.predict_chunks(model, inputs_of_unlabeled_items):
        ...                                             # labels, confidence, uncertainty
    plan = active.overlap_plan(chunk.confidence, ids, threshold=0.9, full_overlap=3,
                               audit_share=0.05, seed=project_id)

Modules: inputs (item data -> input), features (hashing, pixels), text_sklearn, text_torch
(with masked-token pre-training), image_torch, image_sklearn, calibration, metrics, training
(split, fit, calibrate, measure, promotion rule), predict, active (overlap rule), storage
(pickle-free model files), synthetic (seeded review corpus), pretraining (gain at few labels).
torch is imported only by the torch kinds.
"""
